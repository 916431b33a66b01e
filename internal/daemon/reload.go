package daemon

import (
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Loaded is one configuration in force: whatever the process builds from the file
// (in cmd/syncd, the configuration, its secrets and the app built on them) and the
// hash of the file it came from.
type Loaded[T any] struct {
	Value T
	// Hash is the hex SHA-256 of the configuration file.
	Hash string
}

// Coordinator holds the configuration in force and swaps it on reload only when
// the new one is valid: a refused file leaves the old one in force. Like
// alertmanager's coordinator, it exports the outcome of the last reload and the
// hash of the configuration in force.
type Coordinator[T any] struct {
	load    func() (Loaded[T], error)
	metrics *Metrics
	log     *zap.Logger
	now     func() time.Time

	mu  sync.RWMutex
	cur *Loaded[T]
}

// NewCoordinator returns a coordinator that loads through load. Nothing is in
// force until the first Reload succeeds.
func NewCoordinator[T any](load func() (Loaded[T], error), m *Metrics, log *zap.Logger, now func() time.Time) *Coordinator[T] {
	return &Coordinator[T]{load: load, metrics: m, log: log, now: now}
}

// Reload loads the configuration and puts it in force if it is valid. A refused
// configuration is logged with every problem and leaves the one in force alone.
func (c *Coordinator[T]) Reload() error {
	l, err := c.load()
	if err != nil {
		c.log.Error("configuration refused; the one in force stays", zap.Error(err))
		if c.metrics != nil {
			c.metrics.reloadOK.Set(0)
		}
		return err
	}
	c.mu.Lock()
	c.cur = &l
	c.mu.Unlock()
	if c.metrics != nil {
		c.metrics.reloadOK.Set(1)
		c.metrics.reloadTime.Set(float64(c.now().UnixNano()) / 1e9)
		c.metrics.configHash.Set(hashGauge(l.Hash))
	}
	c.log.Info("configuration loaded", zap.String("hash", l.Hash))
	return nil
}

// Current returns the configuration in force, and false before the first
// successful load.
func (c *Coordinator[T]) Current() (Loaded[T], bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cur == nil {
		return Loaded[T]{}, false
	}
	return *c.cur, true
}

// hashGauge turns the first 48 bits of a hex hash into a number a float64 holds
// exactly.
func hashGauge(h string) float64 {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) < 6 {
		return 0
	}
	var buf [8]byte
	copy(buf[2:], b[:6])
	return float64(binary.BigEndian.Uint64(buf[:]))
}
