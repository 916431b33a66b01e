package reconcile

import (
	"testing"
	"time"
)

// TestBackoff doubles from the initial wait with each failed attempt, up to the cap.
func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Hour}, {1, 2 * time.Hour}, {2, 4 * time.Hour}, {4, 16 * time.Hour}, {5, 24 * time.Hour}, {60, 24 * time.Hour},
	} {
		if got := backoff(time.Hour, 24*time.Hour, tt.attempts); got != tt.want {
			t.Errorf("backoff after %d attempts = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}
