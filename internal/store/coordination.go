package store

import (
	"context"
	"sync"
)

// requestHub fans reconcile requests out to the subscribers of one process. Each
// subscriber has a one-slot buffer: a request arriving while one is pending merges
// into it, which is what "reconcile now" means.
type requestHub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func newRequestHub() *requestHub {
	return &requestHub{subs: make(map[chan struct{}]struct{})}
}

func (h *requestHub) publish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		signal(ch)
	}
}

// subscribe returns a channel that receives requests until ctx is done, and is then
// closed.
func (h *requestHub) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, ch)
		close(ch)
	})
	return ch
}

// signal puts a request in ch unless one is already pending.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// lostSignal is the Lost channel of a lease, closed once.
type lostSignal struct {
	once sync.Once
	ch   chan struct{}
}

func newLostSignal() *lostSignal { return &lostSignal{ch: make(chan struct{})} }

func (l *lostSignal) lose()                 { l.once.Do(func() { close(l.ch) }) }
func (l *lostSignal) Lost() <-chan struct{} { return l.ch }
