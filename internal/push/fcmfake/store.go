package fcmfake

import (
	"encoding/json"
	"sync"
	"time"
)

// Message is one send the fake accepted, as FCM would have delivered it.
// Platform blocks are kept as the raw JSON the client sent, so a test can
// assert on exactly what went over the wire without this package modelling
// every Android and APNs option.
type Message struct {
	// Name is the message name returned to the client,
	// "projects/{project}/messages/{id}".
	Name string `json:"name"`
	// Project is the project id from the request path.
	Project string `json:"project"`

	// Exactly one of Token, Topic and Condition is set.
	Token     string `json:"token,omitempty"`
	Topic     string `json:"topic,omitempty"`
	Condition string `json:"condition,omitempty"`

	Notification *Notification `json:"notification,omitempty"`
	// Data is the data payload; nil when the message had none. Treat it as
	// read-only: Messages hands out the stored map, not a copy.
	Data map[string]string `json:"data,omitempty"`

	Android    json.RawMessage `json:"android,omitempty"`
	APNS       json.RawMessage `json:"apns,omitempty"`
	Webpush    json.RawMessage `json:"webpush,omitempty"`
	FCMOptions json.RawMessage `json:"fcm_options,omitempty"`

	// ValidateOnly is set for dry runs (messaging.Client.SendDryRun). Only
	// hooks see such messages: dry runs are answered but never recorded,
	// because FCM does not deliver them.
	ValidateOnly bool `json:"validate_only,omitempty"`
	// ReceivedAt is when the fake accepted the message.
	ReceivedAt time.Time `json:"received_at"`
}

// Notification is the cross-platform notification block of a message.
type Notification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

// store records accepted messages. One mutex guards it: the critical section
// is an append and a map increment, far below the cost of the HTTP round trip
// around it, so sharding would buy nothing at the few thousand sends per
// second the benchmarks drive.
type store struct {
	mu       sync.Mutex
	limit    int // most messages kept in full; <= 0 keeps all
	msgs     []Message
	count    int
	perToken map[string]int
}

func newStore(limit int) *store {
	return &store{limit: limit, perToken: make(map[string]int)}
}

func (s *store) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if m.Token != "" {
		s.perToken[m.Token]++
	}
	if s.limit <= 0 || len(s.msgs) < s.limit {
		s.msgs = append(s.msgs, m)
	}
}

func (s *store) messages(keep func(*Message) bool) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.msgs))
	for i := range s.msgs {
		if keep == nil || keep(&s.msgs[i]) {
			out = append(out, s.msgs[i])
		}
	}
	return out
}

func (s *store) counts() (total, tokens int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, len(s.perToken)
}

func (s *store) countFor(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perToken[token]
}

func (s *store) countData(key, value string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.msgs {
		if v, ok := s.msgs[i].Data[key]; ok && v == value {
			n++
		}
	}
	return n
}

// duplicates returns how many accepted sends went to a token that had
// already been sent to: the sum over tokens of (count - 1).
func (s *store) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.perToken {
		n += c - 1
	}
	return n
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.count = 0
	s.perToken = make(map[string]int)
}
