package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
)

// TestReloadSwapsOnlyAValidConfiguration loads a good file, refuses a broken one
// (the good one stays in force) and loads another good one, exporting each outcome.
func TestReloadSwapsOnlyAValidConfiguration(t *testing.T) {
	m, _ := newTestMetrics(t)
	files := []struct {
		value string
		hash  string
		err   error
	}{
		{value: "first", hash: "0000000000ff" + "00"},
		{err: errors.New("syncd.yaml:3: schedule.interval: want a duration")},
		{value: "second", hash: "000000000100" + "00"},
	}
	i := 0
	c := NewCoordinator(func() (Loaded[string], error) {
		f := files[i]
		i++
		return Loaded[string]{Value: f.value, Hash: f.hash}, f.err
	}, m, zap.NewNop(), func() time.Time { return t0 })
	if _, ok := c.Current(); ok {
		t.Fatal("a configuration is in force before the first load")
	}
	for _, step := range []struct {
		wantErr  bool
		wantCur  string
		wantOK   float64
		wantHash float64
	}{
		{wantCur: "first", wantOK: 1, wantHash: 255},
		{wantErr: true, wantCur: "first", wantOK: 0, wantHash: 255},
		{wantCur: "second", wantOK: 1, wantHash: 256},
	} {
		err := c.Reload()
		if (err != nil) != step.wantErr {
			t.Errorf("Reload: %v, want error %v", err, step.wantErr)
		}
		cur, _ := c.Current()
		if cur.Value != step.wantCur {
			t.Errorf("in force: %q, want %q", cur.Value, step.wantCur)
		}
		if got := testutil.ToFloat64(m.reloadOK); got != step.wantOK {
			t.Errorf("syncd_config_last_reload_successful = %v, want %v", got, step.wantOK)
		}
		if got := testutil.ToFloat64(m.configHash); got != step.wantHash {
			t.Errorf("syncd_config_hash = %v, want %v", got, step.wantHash)
		}
	}
}
