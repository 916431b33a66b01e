package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// standardAttributes are the names a profile or role rule's `when` may test without
// declaring them: group (membership by name or id) and the record attributes
// source.Record.Lookup answers. Names compare case-insensitively.
func standardAttributes() []string {
	return []string{"group", "id", "userName", "email", "givenName", "familyName", "displayName",
		"title", "department", "managerId", "employeeNumber", "active"}
}

// attributeNames is the set of names a rule may test: the standard ones and those
// declared in mapping.attributes, each kept in its configured spelling for messages.
type attributeNames struct {
	byFold map[string]string // lower-case name → spelling
	sorted []string          // spellings, for a stable choice of suggestion
}

func newAttributeNames(declared []string) attributeNames {
	n := attributeNames{byFold: map[string]string{}}
	for _, name := range append(standardAttributes(), declared...) {
		if _, dup := n.byFold[strings.ToLower(name)]; !dup && name != "" {
			n.byFold[strings.ToLower(name)] = name
			n.sorted = append(n.sorted, name)
		}
	}
	slices.Sort(n.sorted)
	return n
}

func (n attributeNames) known(name string) bool {
	_, ok := n.byFold[strings.ToLower(name)]
	return ok
}

// unknown explains a name that is neither standard nor declared, suggesting the
// closest known name when one is near enough to be a likely misspelling.
func (n attributeNames) unknown(name string) string {
	best, bestDist := "", -1
	for _, candidate := range n.sorted {
		if d := editDistance(strings.ToLower(name), strings.ToLower(candidate)); bestDist < 0 || d < bestDist {
			best, bestDist = candidate, d
		}
	}
	msg := fmt.Sprintf("unknown attribute %q: a rule on it would silently match nobody", name)
	if best != "" && bestDist <= max(2, len(name)/3) {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	return msg + " (other attributes must be listed in mapping.attributes)"
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
