package issue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/derrors"
)

// Idempotency-Key errors.
var (
	ErrIdemReused   = derrors.New(derrors.Unprocessable, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for another event")
	ErrIdemInFlight = derrors.New(derrors.Conflict, "IDEMPOTENCY_IN_FLIGHT", "a request with this Idempotency-Key is still being processed")
	errIdemKey      = derrors.Invalidf("Idempotency-Key", "must be 1 to 128 printable ASCII characters")
)

// IdemTTL is how long an Idempotency-Key is remembered.
const IdemTTL = 24 * time.Hour

// Replay is a stored answer to replay.
type Replay struct {
	EventID int64           `json:"event_id"`
	Done    bool            `json:"done"`
	Status  int             `json:"status,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
}

func idemKey(memberID int64, key string) string {
	return "issue:idem:{m:" + strconv.FormatInt(memberID, 10) + "}:" + key
}

// ValidIdemKey checks the header's value.
func ValidIdemKey(key string) error {
	if len(key) == 0 || len(key) > 128 {
		return errIdemKey
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return errIdemKey
		}
	}
	return nil
}

// BeginIdem claims key for (member, event). It returns a stored answer to
// replay, or nil when this request should proceed (and later call
// FinishIdem or AbortIdem).
func (s *Service) BeginIdem(ctx context.Context, memberID, eventID int64, key string) (*Replay, error) {
	k := idemKey(memberID, key)
	claim, _ := json.Marshal(Replay{EventID: eventID})
	ok, err := s.rdb.SetNX(ctx, k, claim, IdemTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if ok {
		return nil, nil
	}
	raw, err := s.rdb.Get(ctx, k).Bytes()
	if errors.Is(err, redis.Nil) {
		return s.BeginIdem(ctx, memberID, eventID, key) // expired in between
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	var r Replay
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	switch {
	case r.EventID != eventID:
		return nil, ErrIdemReused
	case !r.Done:
		return nil, ErrIdemInFlight
	}
	return &r, nil
}

// FinishIdem stores the final answer for replay.
func (s *Service) FinishIdem(ctx context.Context, memberID, eventID int64, key string, status int, body []byte) error {
	raw, _ := json.Marshal(Replay{EventID: eventID, Done: true, Status: status, Body: body})
	return s.rdb.Set(ctx, idemKey(memberID, key), raw, redis.KeepTTL).Err()
}

// AbortIdem forgets a key whose request failed in a way worth retrying
// (5xx), so the retry is processed rather than replayed.
func (s *Service) AbortIdem(ctx context.Context, memberID int64, key string) error {
	return s.rdb.Del(ctx, idemKey(memberID, key)).Err()
}
