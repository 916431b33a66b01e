package mapping

import (
	"fmt"
	"strings"
	"testing"
)

// TestTextsLowerMatchesToLower: texts.lower gives strings.ToLower's result for
// ASCII, non-ASCII (the Kelvin sign and the long s fold to ASCII), invalid and long
// input, and every string handed out keeps its value while later ones fill the block
// and the next ones.
func TestTextsLowerMatchesToLower(t *testing.T) {
	emails, names := adversarialValues()
	inputs := append(emails, names...)
	for i := range 3 * textBlock / 16 { // enough to fill several blocks
		inputs = append(inputs, fmt.Sprintf("User%d@Acme.Example", i), strings.Repeat("AbC", i%200))
	}
	var tx texts
	got := make([]string, len(inputs))
	for i, s := range inputs {
		got[i] = tx.lower(s)
	}
	for i, s := range inputs {
		if want := strings.ToLower(s); got[i] != want {
			t.Errorf("lower(%q) = %q, want %q", s, got[i], want)
		}
	}
}
