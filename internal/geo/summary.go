package geo

import (
	"encoding/binary"
	"errors"
	"math"
)

// summary is what the Redis index keeps per store, inside its GEO member:
// everything a nearby answer shows about the store and its events, so that
// GEOSEARCH alone (one round trip) finds a request's stores without
// PostgreSQL.
//
// It holds the events that may become issuable without anyone telling us:
// ACTIVE, window not yet over, stock left when it was written. Whether an
// event is issuable at the moment of a request (window open, stock left in
// the issuance gate) is decided per request.
type summary struct {
	lat, lng float64
	category string
	name     string
	address  string
	events   []cachedEvent
}

// cachedEvent is one event of a summary. starts and ends are Unix
// microseconds, PostgreSQL's own resolution, so a window edge is the same
// instant on both paths.
type cachedEvent struct {
	id            int64
	starts, ends  int64
	remaining     int // total − issued when written; the gate, when it exists, overrides it
	discountType  string
	discountValue int
	title         string
}

// The encoding is binary, not JSON: the hot path decodes tens of summaries
// per request, and a length-prefixed layout decodes in a fraction of what
// encoding/json needs (and cannot be confused by any byte in a name).
//
//	version byte (1)
//	lat, lng float64 little endian
//	category, name, address: uvarint length + bytes
//	uvarint event count, then per event:
//	  varint id, starts, ends, remaining, discount value;
//	  discount type and title: uvarint length + bytes
const summaryVersion = 1

var errBadSummary = errors.New("geo: malformed summary in the index")

func (s *summary) encode(b []byte) []byte {
	b = append(b, summaryVersion)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.lat))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.lng))
	b = appendBytes(b, s.category)
	b = appendBytes(b, s.name)
	b = appendBytes(b, s.address)
	b = binary.AppendUvarint(b, uint64(len(s.events)))
	for _, e := range s.events {
		b = binary.AppendVarint(b, e.id)
		b = binary.AppendVarint(b, e.starts)
		b = binary.AppendVarint(b, e.ends)
		b = binary.AppendVarint(b, int64(e.remaining))
		b = binary.AppendVarint(b, int64(e.discountValue))
		b = appendBytes(b, e.discountType)
		b = appendBytes(b, e.title)
	}
	return b
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeSummary parses what encode wrote. It reads from the string Redis
// returned, and the strings it returns share its memory: decoding a
// summary costs one allocation (its events), not one per field.
func decodeSummary(b string) (summary, error) {
	var s summary
	d := decoder{b: b}
	if d.byte() != summaryVersion {
		return s, errBadSummary
	}
	s.lat = d.float()
	s.lng = d.float()
	s.category = d.str()
	s.name = d.str()
	s.address = d.str()
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) { // every event takes at least a byte
		return s, errBadSummary
	}
	s.events = make([]cachedEvent, n)
	for i := range s.events {
		e := &s.events[i]
		e.id = d.varint()
		e.starts = d.varint()
		e.ends = d.varint()
		e.remaining = int(d.varint())
		e.discountValue = int(d.varint())
		e.discountType = d.str()
		e.title = d.str()
	}
	if d.err || len(d.b) != 0 {
		return s, errBadSummary
	}
	return s, nil
}

// decoder reads the summary layout; the first short read sets err and
// every later read returns zero values.
type decoder struct {
	b   string
	err bool
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.err = true
		return 0
	}
	var u uint64
	for i := 7; i >= 0; i-- {
		u = u<<8 | uint64(d.b[i])
	}
	d.b = d.b[8:]
	return math.Float64frombits(u)
}

// uvarint is binary.Uvarint on a string.
func (d *decoder) uvarint() uint64 {
	var x uint64
	var s uint
	for i := 0; i < len(d.b) && i < binary.MaxVarintLen64; i++ {
		c := d.b[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflow
			}
			d.b = d.b[i+1:]
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.err = true
	return 0
}

// varint is binary.Varint on a string (zig-zag).
func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return ""
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}
