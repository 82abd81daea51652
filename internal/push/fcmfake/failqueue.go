package fcmfake

import (
	"sync"
	"sync/atomic"
)

// failQueue hands out programmed failures to the next sends, in the order
// they were queued. pending lets the common case, nothing queued, skip the
// mutex entirely: a benchmark at full speed never touches the lock.
type failQueue struct {
	pending atomic.Int64
	mu      sync.Mutex
	items   []queuedFailure
}

type queuedFailure struct {
	left int
	f    *Failure
}

func (q *failQueue) push(n int, f *Failure) {
	if n <= 0 || f == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, queuedFailure{left: n, f: f})
	q.pending.Add(int64(n))
}

// pop returns the failure for this send, or nil when none is queued.
func (q *failQueue) pop() *Failure {
	if q.pending.Load() == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	head := &q.items[0]
	f := head.f
	head.left--
	if head.left == 0 {
		q.items = q.items[1:]
	}
	q.pending.Add(-1)
	return f
}

// remaining is how many sends are still to fail.
func (q *failQueue) remaining() int { return int(q.pending.Load()) }

func (q *failQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = nil
	q.pending.Store(0)
}
