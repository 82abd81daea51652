// Package push turns what happens on the platform into notifications on
// people's phones: it keeps members' devices (FCM tokens), follows and
// notification preferences, and runs the worker that takes domain messages
// off RabbitMQ and sends them through Firebase Cloud Messaging, at most once
// per device per trace id, without losing any.
//
// The path of a push:
//
//	domain tx ──outbox row──▶ outbox.Relay ──couponpop.events──▶ push.send ──▶ Worker ──SendEach──▶ FCM
//	                                                         ▲       │
//	                               push.delay.<d> (TTL) ─────┘       ├──▶ push.delay.<d>  retry / quiet hours
//	                                                                 └──▶ push.dlq       rejected or out of attempts
//
// docs/PUSH.md tells the whole story: topology, retry policy, why each push
// reaches a device once, and how to replay the dead-letter queue.
package push

import (
	"encoding/json"
	"time"

	"github.com/couponpop/couponpop/internal/outbox"
)

// The kinds a push's data payload carries (data["kind"]), which the app
// switches on. They differ from the outbox kinds only for new events.
const (
	KindEventNew       = "EVENT_NEW"
	KindCouponIssued   = "COUPON_ISSUED"
	KindCouponUsed     = "COUPON_USED"
	KindAreaEntered    = "AREA_ENTERED"
	KindCouponExpiring = "COUPON_EXPIRING"
)

// dataKind maps an outbox kind to the push kind; ok is false for kinds that
// do not notify anyone.
func dataKind(outboxKind string) (string, bool) {
	switch outboxKind {
	case outbox.EventCreated:
		return KindEventNew, true
	case outbox.CouponIssued:
		return KindCouponIssued, true
	case outbox.CouponUsed:
		return KindCouponUsed, true
	case outbox.AreaEntered:
		return KindAreaEntered, true
	case outbox.CouponExpiring:
		return KindCouponExpiring, true
	}
	return "", false
}

// promotional reports whether quiet hours hold a push back. Receipts of
// what the member just did (a coupon issued to them, a coupon they used at
// the counter) answer their own action and go at once; news they did not
// ask for this minute (new events, nearby coupons, reminders) waits for the
// quiet hours to end.
func promotional(outboxKind string) bool {
	switch outboxKind {
	case outbox.EventCreated, outbox.AreaEntered, outbox.CouponExpiring:
		return true
	}
	return false
}

// Job is a push to some members, the message type the worker publishes to
// itself: per-member jobs of a fanned-out event, retries (to the delay
// queues) and dead letters. Domain messages from the outbox relay are
// turned into a Job when they arrive.
type Job struct {
	// Kind is the outbox kind (EVENT_CREATED, COUPON_ISSUED, ...).
	Kind string `json:"kind"`
	// TraceID identifies the news; each device gets it at most once.
	TraceID string `json:"trace_id"`
	// Payload is the outbox payload, as the relay published it.
	Payload json.RawMessage `json:"payload"`
	// Targets are who to send to.
	Targets []Target `json:"targets"`
	// Attempt counts the sends to FCM already tried for these targets.
	Attempt int `json:"attempt,omitempty"`
	// NotBefore holds the job back (retry backoff, quiet hours); the
	// worker sends it to a delay queue again until then.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Reason says why a job was dead-lettered.
	Reason string `json:"reason,omitempty"`
}

// Target is a member, or one device of a member.
type Target struct {
	MemberID int64 `json:"member_id"`
	// Token restricts the push to this device (a retry of the devices that
	// failed); empty means all the member's devices.
	Token string `json:"token,omitempty"`
}

// jobType is the AMQP type of a Job message; domain messages carry their
// outbox kind as type.
const jobType = "push.job"

// payload is the union of the outbox payloads the worker reads.
type payload struct {
	CouponID      int64     `json:"coupon_id"`
	EventID       int64     `json:"event_id"`
	StoreID       int64     `json:"store_id"`
	MemberID      int64     `json:"member_id"`
	ExpiresAt     time.Time `json:"expires_at"`
	IssueStartsAt time.Time `json:"issue_starts_at"`
	AreaID        int64     `json:"area_id"`
	AreaName      string    `json:"area_name"`
	Day           string    `json:"day"`
	EventIDs      []int64   `json:"event_ids"`
}
