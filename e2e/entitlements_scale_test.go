package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEntitlementCallsAtTenThousandPeople follows 10,000 people in 20 IdP groups,
// mapped to 30 permission sets (groups 1-10 grant two, groups 11-20 one: 15,000
// assignments), through a first sync and a cycle with nothing to do, and checks
// every API call against the minimum: the users' own (minimumCalls), plus one
// catalog query for the permission sets, the pages of assignments read (one query
// filtered by the 30 Ids, 2,000 rows a page) and ⌈assignments written / 200⌉
// Collections calls for the one object they are records of.
func TestEntitlementCallsAtTenThousandPeople(t *testing.T) {
	t.Parallel()
	const people, groups, sets = 10000, 20, 30
	var permissionSets []map[string]any
	for i := 1; i <= sets; i++ {
		permissionSets = append(permissionSets, map[string]any{"name": fmt.Sprintf("PS_%02d", i)})
	}
	org := startSfsim(t, map[string]any{
		"licenses":       []map[string]any{{"name": "Salesforce", "seats": 20000}},
		"permissionSets": permissionSets,
	})
	var rules strings.Builder
	rules.WriteString("  entitlements:\n    rules:\n")
	for g := 1; g <= groups; g++ {
		sets := fmt.Sprintf("PS_%02d", g)
		if g <= doubleGroups {
			sets += fmt.Sprintf(", PS_%02d", groups+g)
		}
		fmt.Fprintf(&rules, "      - when: { group: G%02d }\n        permission_sets: [%s]\n", g, sets)
	}
	d := deploy(t, org, settings{MaxDeactivations: 100, MaxDeactivationPercent: 5, MaxShrinkPercent: 10,
		Entitlements: strings.TrimSuffix(rules.String(), "\n")})
	staffed := staff(1, people)
	members := map[string][]string{}
	assignments := 0
	for i, p := range staffed {
		g := i%groups + 1
		members[p.ID] = []string{fmt.Sprintf("G%02d", g)}
		assignments++
		if g <= doubleGroups {
			assignments++
		}
	}
	d.writeMembers(t, staffed, members)

	t.Run("the first sync creates the users, then their 15,000 assignments in the fewest calls", func(t *testing.T) {
		before := org.state(t)
		d.must(t, exitOK, "apply", "--once")
		after := org.state(t)
		// The org holds no assignment yet: one empty page.
		want := minimumCalls(1, people) + 1 + pages(0) + int64(ceilDiv(assignments, 200))
		got := charged(t, before, after)
		t.Logf("first sync: %d API calls, minimum %d; requests %v", got, want, callsSince(before, after))
		if got != want {
			t.Errorf("the first sync spent %d API calls, the minimum is %d", got, want)
		}
		if diff := cmp.Diff(map[string]int{"collections.create": people/200 + assignments/200}, writeCalls(callsSince(before, after))); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
	})

	t.Run("a cycle with nothing to change reads the assignments in pages and writes nothing", func(t *testing.T) {
		before := org.state(t)
		// A full read, the cost the minimum describes (a delta read of the users just
		// created would read the same pages, less the profiles and roles).
		d.must(t, exitOK, "apply", "--once", "--full")
		after := org.state(t)
		want := minimumCalls(people+1) + 1 + pages(assignments)
		got := charged(t, before, after)
		t.Logf("no-change cycle: %d API calls, minimum %d; requests %v", got, want, callsSince(before, after))
		if got != want {
			t.Errorf("the no-change cycle spent %d API calls, the minimum is %d", got, want)
		}
		if w := writeCalls(callsSince(before, after)); len(w) > 0 {
			t.Errorf("it wrote %v", w)
		}
	})
	held := org.held(t)
	if len(held) != people {
		t.Errorf("%d users hold permission sets, want %d", len(held), people)
	}
}

// doubleGroups is the number of groups that grant a second permission set.
const doubleGroups = 10

// pages is the query pages n rows take: at least one, 2,000 rows each.
func pages(n int) int64 { return int64(max(1, ceilDiv(n, 2000))) }
