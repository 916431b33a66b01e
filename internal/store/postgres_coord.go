package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
)

// dedicatedConn opens a connection outside the pool, for a lease or a listener: the
// pool would recycle or share it. The server is asked to probe the client with TCP
// keepalives, so that a vanished holder's session, and its lock, end within seconds
// rather than hours. (Unix-socket connections ignore these settings. Session advisory
// locks and LISTEN need a real session: point syncd at PostgreSQL itself or at a
// session-pooling proxy, not at a transaction pooler.)
//
// The session timeouts are switched off whatever the DSN or the server's defaults
// say: a lock connection is idle between its watchdog's pings, and managed
// PostgreSQL services often set idle_session_timeout, which would end the session
// and hand leadership to another replica every few minutes for nothing.
func (s *postgresStore) dedicatedConn(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.connConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	for k, v := range map[string]string{
		"tcp_keepalives_idle":     "5",
		"tcp_keepalives_interval": "2",
		"tcp_keepalives_count":    "3",
		"tcp_user_timeout":        "10000",
	} {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	for _, k := range []string{"idle_session_timeout", "idle_in_transaction_session_timeout", "statement_timeout"} {
		cfg.RuntimeParams[k] = "0"
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// pgLease holds the leader lock: a session advisory lock on a dedicated connection.
// PostgreSQL releases the lock when the session ends, whatever ends it, so another
// instance can take over. A watchdog checks the connection every checkInterval; when
// the check fails the lease is lost at once, because the lock may already be gone.
type pgLease struct {
	*lostSignal
	epoch    int64
	conn     *pgx.Conn
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (s *postgresStore) TryLeaderLock(ctx context.Context) (Lease, error) {
	conn, err := s.dedicatedConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("leader lock: connect: %w", err)
	}
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, leaderLockKey).Scan(&held); err != nil {
		_ = conn.Close(context.Background()) // the lock was not taken
		return nil, fmt.Errorf("leader lock: %w", err)
	}
	if !held {
		_ = conn.Close(context.Background()) // another instance holds the lock
		return nil, fmt.Errorf("leader lock: %w", ErrLocked)
	}
	// The new epoch is started on the lock's own connection, so that it cannot
	// begin unless this session holds the lock.
	var epoch int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var err error
		epoch, err = s.lead(ctx, pgDB{tx})
		return err
	})
	if err != nil {
		_ = conn.Close(context.Background()) // ending the session releases the lock
		return nil, fmt.Errorf("leader lock: %w", err)
	}
	l := &pgLease{lostSignal: newLostSignal(), epoch: epoch, conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
	go l.watch(s.checkInterval) //nolint:gosec // the watchdog outlives the call that took the lock, by design
	return l, nil
}

func (l *pgLease) Epoch() int64 { return l.epoch }

// watch pings the lock's connection until the lease is released or the connection
// fails. A ping gets twice the interval, and at least two seconds, to answer, so a
// busy server is not mistaken for a dead one.
func (l *pgLease) watch(interval time.Duration) {
	defer close(l.done)
	timeout := max(2*interval, 2*time.Second)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			err := l.conn.Ping(ctx)
			cancel()
			if err != nil {
				l.lose()
				_ = l.conn.Close(context.Background()) // the lease is lost whatever this says
				return
			}
		}
	}
}

func (l *pgLease) Release(ctx context.Context) error {
	var err error
	l.stopOnce.Do(func() {
		close(l.stop)
		<-l.done
		select {
		case <-l.Lost():
			return // the watchdog found the connection dead and closed it
		default:
		}
		l.lose()
		_, unlockErr := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, leaderLockKey)
		err = errors.Join(unlockErr, l.conn.Close(ctx))
	})
	if err != nil {
		return fmt.Errorf("release leader lock: %w", err)
	}
	return nil
}

// ReconcileRequests LISTENs on a dedicated connection. The first LISTEN happens before
// it returns, so a request made after the call is delivered. When the connection
// breaks it reconnects with exponential backoff and then delivers one request,
// because requests sent while it was away are lost to it.
func (s *postgresStore) ReconcileRequests(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closed, cancel)
	conn, err := s.listen(ctx)
	missed := err != nil
	s.listeners.Add(1)
	go func() { //nolint:gosec // the listener lives until ctx is done, not the caller's call
		defer s.listeners.Done()
		defer close(ch)
		defer stop()
		defer cancel()
		reconnect := &backoff.ExponentialBackOff{InitialInterval: 50 * time.Millisecond, RandomizationFactor: 0.5,
			Multiplier: 2, MaxInterval: 5 * time.Second}
		for {
			if conn == nil {
				var err error
				conn, err = backoff.Retry(ctx, func() (*pgx.Conn, error) { return s.listen(ctx) },
					backoff.WithBackOff(reconnect), backoff.WithMaxElapsedTime(0))
				if err != nil {
					return // ctx is done: retrying stops only then
				}
			}
			if missed {
				signal(ch)
			}
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					break
				}
				signal(ch)
			}
			_ = conn.Close(context.Background())
			conn, missed = nil, true
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return ch
}

func (s *postgresStore) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := s.dedicatedConn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+reconcileChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}
