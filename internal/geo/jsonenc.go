package geo

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The nearby answer is the hottest response of the platform, so it is
// written by hand with append, the way encoding/json would write it
// (same escaping, same number and time formats; a test holds the two
// byte for byte equal), without reflection.

// AppendJSON appends n as JSON to b.
func (n Nearby) AppendJSON(b []byte) []byte {
	b = append(b, `{"items":[`...)
	for i, it := range n.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = it.appendJSON(b)
	}
	return append(b, "]}"...)
}

// MarshalJSON lets Nearby travel inside other JSON answers (a location
// report) with the same encoding.
func (n Nearby) MarshalJSON() ([]byte, error) { return n.AppendJSON(nil), nil }

func (it NearbyItem) appendJSON(b []byte) []byte {
	s := it.Store
	b = append(b, `{"store":{"id":`...)
	b = strconv.AppendInt(b, s.ID, 10)
	b = append(b, `,"name":`...)
	b = appendString(b, s.Name)
	b = append(b, `,"category":`...)
	b = appendString(b, s.Category)
	b = append(b, `,"lat":`...)
	b = appendFloat(b, s.Lat)
	b = append(b, `,"lng":`...)
	b = appendFloat(b, s.Lng)
	b = append(b, `,"address":`...)
	b = appendString(b, s.Address)
	b = append(b, `},"distance_m":`...)
	b = appendFloat(b, it.DistanceM)
	b = append(b, `,"events":[`...)
	for i, e := range it.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, e.ID, 10)
		b = append(b, `,"title":`...)
		b = appendString(b, e.Title)
		b = append(b, `,"discount_type":`...)
		b = appendString(b, e.DiscountType)
		b = append(b, `,"discount_value":`...)
		b = strconv.AppendInt(b, int64(e.DiscountValue), 10)
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, int64(e.Remaining), 10)
		b = append(b, `,"issue_ends_at":"`...)
		b = e.IssueEndsAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

// appendFloat writes f as encoding/json does: shortest representation,
// exponent form only for very small or very large magnitudes.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0') // cannot happen for validated points; never write invalid JSON
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string with encoding/json's escaping,
// HTML-safe characters included: invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
