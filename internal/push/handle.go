package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"firebase.google.com/go/v4/messaging"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/couponpop/couponpop/internal/outbox"
)

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal job: %w", err)
	}
	return b, nil
}

// pending is a delivery and the job it carries.
type pending struct {
	d   amqp.Delivery
	job Job
	p   payload
}

// send is one message to one device.
type send struct {
	job    *pending
	member int64
	token  string
	key    string // the Redis lock
	msg    *messaging.Message
	c      *content
}

// recipient is a member as the worker needs them: where they are (for
// quiet hours and times in the text) and their devices.
type recipient struct {
	loc    *time.Location
	quiet  quiet
	tokens []device
}

type device struct {
	token, platform string
}

// Statuses of a notification row, ranked: when one batch has several
// results for one member and trace (two devices, a duplicate delivery),
// the best one is what the member's history shows.
var statusRank = map[string]int{"NO_DEVICE": 1, "FAILED": 2, "DEFERRED": 3, "RETRYING": 4, "SENT": 5}

// history is a notification row to upsert.
type history struct {
	member       int64
	trace        string
	c            *content
	status       string
	attempts     int
	lastError    string
	deliverAfter *time.Time
}

// batchState gathers a batch's results.
type batchState struct {
	out     []outgoing
	reject  []amqp.Delivery // poison: dead-lettered by the queue's DLX
	history map[[2]string]*history
	gone    []string
	// laps times the stages, for the debug log of each batch.
	laps []any
	lap  time.Time
}

// mark records how long the stage just finished took.
func (b *batchState) mark(stage string) {
	now := time.Now()
	b.laps = append(b.laps, stage, now.Sub(b.lap).Round(time.Microsecond).String())
	b.lap = now
}

func (b *batchState) record(h history) {
	k := [2]string{h.trace, strconv.FormatInt(h.member, 10)}
	if old, ok := b.history[k]; ok && statusRank[old.status] > statusRank[h.status] {
		old.attempts = max(old.attempts, h.attempts)
		return
	}
	b.history[k] = &h
}

var lockSeq atomic.Uint64

// handle processes one batch end to end: decode, fan out, hold back,
// lock, send, classify, record, publish follow-up jobs, acknowledge.
//
// The acknowledgement comes last, after every follow-up job (retry, dead
// letter, deferral, fan-out) is confirmed by the broker: a crash anywhere
// before it leaves the delivery unacknowledged, RabbitMQ redelivers it,
// and the Redis locks turn the devices already reached into no-ops.
func (w *Worker) handle(ctx context.Context, cch *amqp.Channel, pub *publisher, batch []amqp.Delivery) {
	now := w.cfg.Now()
	st := &batchState{history: map[[2]string]*history{}, lap: time.Now()}
	var jobs []*pending
	var ack []amqp.Delivery

	for _, d := range batch {
		pj, err := decode(d)
		if err != nil {
			w.log.Warn("undecodable push message; dead-lettering", "err", err, "message_id", d.MessageId, "type", d.Type)
			w.m.result("poison", 1)
			st.reject = append(st.reject, d)
			continue
		}
		ack = append(ack, d)
		switch {
		case pj.job.Targets == nil && pj.job.Kind == outbox.EventCreated:
			// A domain EVENT_CREATED names no member: fan it out to the
			// store's followers as per-member jobs.
			out, err := w.fanout(ctx, pj, now)
			if err != nil {
				w.log.Warn("fan-out failed; will retry", "err", err, "trace_id", pj.job.TraceID)
				st.out = append(st.out, w.postpone(pj.job, now))
				continue
			}
			st.out = append(st.out, out...)
		case len(pj.job.Targets) == 0:
			w.m.result("empty", 1) // nothing to say (an area with no events)
		case pj.job.NotBefore.After(now):
			st.out = append(st.out, w.delay(pj.job, pj.job.NotBefore.Sub(now)))
		default:
			jobs = append(jobs, pj)
		}
	}

	if len(jobs) > 0 {
		if err := w.deliver(ctx, jobs, st, now); err != nil {
			// PostgreSQL or Redis is down: nothing was sent. Park the jobs
			// in a delay queue rather than requeueing them, which would
			// spin on the outage and count towards the delivery limit.
			w.log.Warn("push batch failed before sending; postponing", "err", err, "jobs", len(jobs))
			for _, pj := range jobs {
				st.out = append(st.out, w.postpone(pj.job, now))
			}
		}
	}

	st.mark("deliver")
	if err := w.recordHistory(ctx, st); err != nil {
		// The pushes went out; only the history row is missing. Not worth
		// resending for, so log and go on.
		w.log.Error("record notification history", "err", err)
	}
	st.mark("history")
	if err := pub.publish(ctx, st.out); err != nil {
		// Follow-ups unconfirmed: leave the whole batch to redelivery.
		w.log.Warn("publish follow-up jobs failed; batch will be redelivered", "err", err)
		_ = cch.Nack(lastTag(batch), true, true)
		return
	}
	for _, d := range st.reject {
		_ = cch.Reject(d.DeliveryTag, false)
	}
	st.mark("publish")
	// The batch holds every unsettled delivery of this channel up to its
	// last tag (see Worker.consume): one multiple-ack settles them.
	if len(ack) > 0 {
		if err := cch.Ack(lastTag(ack), true); err != nil {
			w.log.Debug("ack failed (redelivery will find the devices done)", "err", err)
		}
	}
	if w.log.Enabled(ctx, slog.LevelDebug) {
		st.mark("ack")
		w.log.Debug("push batch", append([]any{"deliveries", len(batch), "follow_ups", len(st.out)}, st.laps...)...)
	}
}

// lastTag is the highest delivery tag of ds.
func lastTag(ds []amqp.Delivery) uint64 {
	var t uint64
	for _, d := range ds {
		t = max(t, d.DeliveryTag)
	}
	return t
}

// decode reads a delivery: a Job the worker published, or a domain message
// from the outbox relay, made into a job for the member it names.
func decode(d amqp.Delivery) (*pending, error) {
	pj := &pending{d: d}
	if d.Type == jobType {
		if err := json.Unmarshal(d.Body, &pj.job); err != nil {
			return nil, fmt.Errorf("job body: %w", err)
		}
	} else {
		kind, _ := d.Headers[outbox.HeaderKind].(string)
		if kind == "" {
			kind = d.Type
		}
		trace, _ := d.Headers[outbox.HeaderTraceID].(string)
		pj.job = Job{Kind: kind, TraceID: trace, Payload: d.Body}
	}
	if _, ok := dataKind(pj.job.Kind); !ok {
		return nil, fmt.Errorf("kind %q is not a push", pj.job.Kind)
	}
	if pj.job.TraceID == "" {
		return nil, errors.New("no trace id")
	}
	if err := json.Unmarshal(pj.job.Payload, &pj.p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if d.Type != jobType {
		switch pj.job.Kind {
		case outbox.EventCreated:
			if pj.p.EventID <= 0 {
				return nil, errors.New("EVENT_CREATED without event_id")
			}
		case outbox.AreaEntered:
			if pj.p.MemberID <= 0 {
				return nil, errors.New("no member_id")
			}
			if len(pj.p.EventIDs) > 0 {
				pj.job.Targets = []Target{{MemberID: pj.p.MemberID}}
			} else {
				pj.job.Targets = []Target{}
			}
		default:
			if pj.p.MemberID <= 0 {
				return nil, errors.New("no member_id")
			}
			pj.job.Targets = []Target{{MemberID: pj.p.MemberID}}
		}
	}
	return pj, nil
}

// deliver sends the jobs' pushes and fills st with what follows.
func (w *Worker) deliver(ctx context.Context, jobs []*pending, st *batchState, now time.Time) error {
	var members, events []int64
	for _, pj := range jobs {
		for _, t := range pj.job.Targets {
			members = append(members, t.MemberID)
		}
		if pj.p.EventID > 0 {
			events = append(events, pj.p.EventID)
		}
	}
	slices.Sort(members)
	members = slices.Compact(members)
	slices.Sort(events)
	events = slices.Compact(events)
	st.mark("decode")
	recips, err := w.loadRecipients(ctx, members)
	if err != nil {
		return err
	}
	evs, err := loadEvents(ctx, w.db, events)
	if err != nil {
		return err
	}

	// Who gets what, and who waits for their quiet hours to end.
	var sends []*send
	for _, pj := range jobs {
		deferred := map[int64]time.Time{}
		var deferredTargets []Target
		for _, t := range pj.job.Targets {
			r, ok := recips[t.MemberID]
			if !ok {
				continue // the member is gone
			}
			c := render(&pj.job, &pj.p, evs, r.loc)
			if promotional(pj.job.Kind) {
				if end, in := r.quiet.until(now); in {
					deferred[t.MemberID] = end
					deferredTargets = append(deferredTargets, t)
					st.record(history{member: t.MemberID, trace: pj.job.TraceID, c: &c, status: "DEFERRED", attempts: pj.job.Attempt, deliverAfter: &end})
					continue
				}
			}
			n := 0
			for _, dv := range r.tokens {
				if t.Token != "" && t.Token != dv.token {
					continue
				}
				n++
				sends = append(sends, &send{
					job: pj, member: t.MemberID, token: dv.token, c: &c,
					key: lockKey(pj.job.TraceID, dv.token),
					msg: message(dv, &c),
				})
			}
			if n == 0 && t.Token == "" {
				w.m.result("no_device", 1)
				st.record(history{member: t.MemberID, trace: pj.job.TraceID, c: &c, status: "NO_DEVICE"})
			}
		}
		// One job per quiet member: each waits for their own morning.
		for _, t := range deferredTargets {
			j := pj.job
			j.Targets = []Target{t}
			j.NotBefore = deferred[t.MemberID]
			st.out = append(st.out, w.delay(j, j.NotBefore.Sub(now)))
			w.m.result("deferred", 1)
		}
	}
	if len(sends) == 0 {
		return nil
	}

	st.mark("load")
	// Lock every device's send: SET NX with GET tells in one round trip
	// whether this worker may send (nil), someone sent it already
	// ("done"), or someone is sending it right now (a lock value).
	owner := "p:" + w.id + ":" + strconv.FormatUint(lockSeq.Add(1), 10)
	pipe := w.rdb.Pipeline()
	locks := make([]*redis.StatusCmd, len(sends))
	for i, s := range sends {
		locks[i] = pipe.SetArgs(ctx, s.key, owner, redis.SetArgs{Mode: "NX", Get: true, TTL: w.cfg.LockTTL})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("lock sends: %w", err)
	}
	var mine []*send
	busy := map[*pending][]Target{}
	for i, s := range sends {
		v, err := locks[i].Result()
		switch {
		case errors.Is(err, redis.Nil):
			mine = append(mine, s)
		case err != nil:
			return fmt.Errorf("lock send: %w", err)
		case v == doneValue:
			// Sent before (a redelivery, a republished outbox row):
			// record it as sent, send nothing.
			w.m.result("duplicate", 1)
			st.record(history{member: s.member, trace: s.job.job.TraceID, c: s.c, status: "SENT", attempts: s.job.job.Attempt + 1})
		default:
			// Another worker holds it: it finishes, or dies and its lock
			// expires. Look again later either way.
			w.m.result("busy", 1)
			busy[s.job] = append(busy[s.job], Target{MemberID: s.member, Token: s.token})
		}
	}
	for pj, targets := range busy {
		j := pj.job
		j.Targets = targets
		wait := min(w.cfg.LockTTL, max(w.cfg.LockTTL/3, time.Second))
		j.NotBefore = now.Add(wait)
		st.out = append(st.out, w.delay(j, wait))
	}
	if len(mine) == 0 {
		return nil
	}

	st.mark("lock")
	results := w.sendAll(ctx, mine)
	st.mark("send")

	// Classify, then settle the locks in one pipeline: done for 7 days
	// where FCM accepted, released where it did not, so a retry can take
	// them again.
	retry := map[*pending][]Target{}
	retryAfter := map[*pending]time.Duration{}
	retryReason := map[*pending]string{}
	dead := map[*pending][]Target{}
	deadReason := map[*pending]string{}
	pipe = w.rdb.Pipeline()
	for i, s := range mine {
		o, reason, ra := classify(results[i])
		attempts := s.job.job.Attempt + 1
		h := history{member: s.member, trace: s.job.job.TraceID, c: s.c, attempts: attempts, lastError: reason}
		t := Target{MemberID: s.member, Token: s.token}
		switch o {
		case delivered:
			pipe.Set(ctx, s.key, doneValue, w.cfg.DoneTTL)
			w.m.result("sent", 1)
			h.status = "SENT"
		case gone:
			releaseScript.Eval(ctx, pipe, []string{s.key}, owner)
			st.gone = append(st.gone, s.token)
			w.m.result("unregistered", 1)
			h.status = "FAILED"
		case rejected:
			releaseScript.Eval(ctx, pipe, []string{s.key}, owner)
			dead[s.job] = append(dead[s.job], t)
			deadReason[s.job] = reason
			w.m.result("rejected", 1)
			h.status = "FAILED"
		case transient:
			releaseScript.Eval(ctx, pipe, []string{s.key}, owner)
			if attempts >= w.cfg.MaxAttempts {
				dead[s.job] = append(dead[s.job], t)
				deadReason[s.job] = "attempts exhausted: " + reason
				w.m.result("dead_lettered", 1)
				h.status = "FAILED"
			} else {
				retry[s.job] = append(retry[s.job], t)
				retryAfter[s.job] = max(retryAfter[s.job], ra)
				retryReason[s.job] = reason
				w.m.result("retried", 1)
				h.status = "RETRYING"
			}
		}
		st.record(h)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		// A done key that did not stick only matters if this batch is
		// redelivered, and it is about to be acknowledged; a release that
		// did not stick expires after LockTTL.
		w.log.Error("settle push locks", "err", err)
	}
	for pj, targets := range retry {
		j := pj.job
		j.Targets = targets
		j.Attempt++
		wait := w.backoff(j.Attempt, retryAfter[pj])
		j.NotBefore = now.Add(wait)
		j.Reason = retryReason[pj]
		st.out = append(st.out, w.delay(j, wait))
	}
	for pj, targets := range dead {
		j := pj.job
		j.Targets = targets
		j.Attempt = 0 // a replay from the dead-letter queue starts afresh
		j.NotBefore = time.Time{}
		j.Reason = deadReason[pj]
		st.out = append(st.out, outgoing{queue: w.cfg.Topology.DeadLetter, job: j})
	}
	return nil
}

// sendAll sends in calls of at most 500 and returns each send's error.
// If a call fails as a whole (the SDK refused the batch before sending,
// e.g. one message it considers malformed), its messages are sent one by
// one so one bad message does not hold back the rest.
func (w *Worker) sendAll(ctx context.Context, sends []*send) []error {
	errs := make([]error, len(sends))
	for lo := 0; lo < len(sends); lo += maxPerCall {
		hi := min(lo+maxPerCall, len(sends))
		msgs := make([]*messaging.Message, hi-lo)
		for i := range msgs {
			msgs[i] = sends[lo+i].msg
		}
		br, err := w.sendEach(ctx, msgs)
		if err != nil && len(msgs) > 1 {
			for i, m := range msgs {
				one, err := w.sendEach(ctx, []*messaging.Message{m})
				errs[lo+i] = firstError(one, err)
			}
			continue
		}
		if err != nil {
			errs[lo] = err
			continue
		}
		for i, r := range br.Responses {
			if !r.Success {
				errs[lo+i] = r.Error
			}
		}
	}
	return errs
}

func (w *Worker) sendEach(ctx context.Context, msgs []*messaging.Message) (*messaging.BatchResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	start := time.Now()
	br, err := w.sender.SendEach(ctx, msgs)
	w.m.fcmCall.Observe(time.Since(start).Seconds())
	if err == nil && (br == nil || len(br.Responses) != len(msgs)) {
		err = errors.New("sender returned no result for some messages")
	}
	return br, err
}

// firstError is the error of a one-message send.
func firstError(br *messaging.BatchResponse, err error) error {
	if err != nil {
		return err
	}
	if r := br.Responses[0]; !r.Success {
		return r.Error
	}
	return nil
}

// message builds the FCM message for one device.
func message(d device, c *content) *messaging.Message {
	m := &messaging.Message{
		Token:        d.token,
		Notification: &messaging.Notification{Title: c.title, Body: c.body},
		Data:         c.data,
	}
	switch d.platform {
	case Android:
		m.Android = &messaging.AndroidConfig{Priority: "high"}
	case IOS:
		m.APNS = &messaging.APNSConfig{Headers: map[string]string{"apns-priority": "10"}}
	}
	return m
}

const doneValue = "done"

// releaseScript deletes a lock only if this send still holds it: if the
// lock expired and another worker took it, that worker's lock stays.
var releaseScript = redis.NewScript(`
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`)

// lockKey is the Redis key of one device's send of one trace. The trace id
// is the hash tag, so all of a push's keys share a cluster slot; the token
// is hashed to keep seven days of keys small.
func lockKey(trace, token string) string {
	h := sha256.Sum256([]byte(token))
	return "push:trace:{" + trace + "}:" + hex.EncodeToString(h[:8])
}

// backoff is the wait before attempt n (n ≥ 1): exponential from
// BaseBackoff with "equal jitter" (half fixed, half random, so a burst
// that failed together does not come back together, yet never sooner than
// half the step), at least the server's Retry-After, at most MaxBackoff.
func (w *Worker) backoff(n int, retryAfter time.Duration) time.Duration {
	d := w.cfg.BaseBackoff << min(n-1, 30)
	if d <= 0 || d > w.cfg.MaxBackoff {
		d = w.cfg.MaxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	return min(max(d, retryAfter), w.cfg.MaxBackoff)
}

// delay routes j to the delay queue that best fits wait; j.NotBefore says
// when it is really due.
func (w *Worker) delay(j Job, wait time.Duration) outgoing {
	return outgoing{queue: w.cfg.Topology.DelayQueue(w.cfg.Topology.delayFor(wait)), job: j}
}

// postpone parks j for a few seconds after an outage of PostgreSQL or
// Redis; the attempt count stays, since FCM was not tried.
func (w *Worker) postpone(j Job, now time.Time) outgoing {
	wait := 5 * time.Second
	j.NotBefore = now.Add(wait)
	w.m.result("postponed", 1)
	return w.delay(j, wait)
}
