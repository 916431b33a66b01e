package reconcile

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// A Guardrail looks at a whole plan and holds (or, for an untrustworthy source,
// removes) deactivations a person should look at first. It returns the plan with
// those actions changed and its verdict; a guardrail that acts on nothing returns a
// GuardResult with Held and Skipped zero. Guardrails never touch an action that
// carries an Approval: it was reviewed already. The one exception is Completeness,
// because an approval given on a complete pull says nothing about an incomplete one.
type Guardrail interface {
	Check(p Plan, in Input) (Plan, GuardResult)
}

// chain returns the guardrails Guard runs, in order: completeness, shrink, cap.
func (g Guardrails) chain() []Guardrail {
	return []Guardrail{
		Completeness{},
		Shrink{MaxPercent: g.MaxSourceShrinkPercent},
		Cap{Max: g.MaxDeactivations, MaxPercent: g.MaxDeactivationPercent},
	}
}

// Guard runs every guardrail of the policy over the plan and records each verdict
// that acted on something in Plan.Guards. Calculate calls it; it is exported so that
// a plan can be checked again under other guardrails.
func Guard(p Plan, in Input, pol Policy) Plan {
	for _, g := range pol.Guardrails.chain() {
		var res GuardResult
		p, res = g.Check(p, in)
		if res.Held+res.Skipped > 0 {
			p.Guards = append(p.Guards, res)
		}
	}
	return p
}

// Completeness plans no deactivation at all from an incomplete pull: a person
// missing from a partial export is not a leaver. The deactivations become Skips with
// the pull's reasons; creates and updates of the records read go ahead.
type Completeness struct{}

// Check implements Guardrail.
func (Completeness) Check(p Plan, in Input) (Plan, GuardResult) {
	res := GuardResult{Name: "completeness"}
	if in.Source.Complete {
		return p, res
	}
	res.Reason = "the source pull is incomplete"
	if len(in.Source.Reasons) > 0 {
		res.Reason += ": " + strings.Join(in.Source.Reasons, "; ")
	}
	kept := make([]Action, 0, len(p.Actions))
	skipped := slices.Clone(p.Skipped)
	for _, a := range p.Actions {
		if a.Kind != KindDeactivate && a.Kind != KindFreeze {
			kept = append(kept, a)
			continue
		}
		skipped = append(skipped, Skip{Action: a, Reason: res.Reason})
		res.Skipped++
	}
	if res.Skipped == 0 {
		return p, res
	}
	p.Actions, p.Skipped = kept, skipped
	return p, res
}

// Shrink holds every deactivation when the source has fewer records than the last
// complete pull by more than MaxPercent: an export that lost a department looks like
// a department of leavers. A negative MaxPercent, or no baseline, disables it.
type Shrink struct {
	MaxPercent float64
}

// Check implements Guardrail.
func (s Shrink) Check(p Plan, in Input) (Plan, GuardResult) {
	res := GuardResult{Name: "shrink"}
	base, count := in.Source.Baseline, in.Source.Count
	if s.MaxPercent < 0 || base <= 0 || count >= base {
		return p, res
	}
	shrunk := float64(base-count) * 100 / float64(base)
	if shrunk <= s.MaxPercent {
		return p, res
	}
	res.Reason = "the source has " + strconv.Itoa(count) + " records, " + percent(shrunk) +
		" fewer than the last complete pull's " + strconv.Itoa(base) + " (at most " + percent(s.MaxPercent) + " allowed)"
	return holdDeactivations(p, res)
}

// Cap holds every deactivation of a cycle that plans more than Max of them, or more
// than MaxPercent of the managed (linked) users: all of them, not just the excess,
// because which ones are wrong is for a person to decide. A negative limit is
// disabled. Approved deactivations are neither held nor counted.
type Cap struct {
	Max        int
	MaxPercent float64
}

// Check implements Guardrail.
func (c Cap) Check(p Plan, _ Input) (Plan, GuardResult) {
	res := GuardResult{Name: "cap"}
	n := 0
	for i := range p.Actions {
		if p.Actions[i].Kind == KindDeactivate && p.Actions[i].Approval == nil {
			n++
		}
	}
	planned := plural(n, "deactivation", "deactivations") + " planned"
	switch {
	case n == 0:
		return p, res
	case c.Max >= 0 && n > c.Max:
		res.Reason = planned + ", above the cap of " + strconv.Itoa(c.Max)
	case c.MaxPercent >= 0 && float64(n)*100 > c.MaxPercent*float64(p.Managed):
		share := 100.0
		if p.Managed > 0 {
			share = float64(n) * 100 / float64(p.Managed)
		}
		res.Reason = planned + ", " + percent(share) + " of " + plural(p.Managed, "managed user", "managed users") +
			", above the cap of " + percent(c.MaxPercent)
	default:
		return p, res
	}
	return holdDeactivations(p, res)
}

// holdDeactivations holds every deactivation of p not yet held or approved, in the
// name of res, and counts them in res.Held.
func holdDeactivations(p Plan, res GuardResult) (Plan, GuardResult) {
	actions := slices.Clone(p.Actions)
	for i := range actions {
		a := &actions[i]
		if a.Kind != KindDeactivate || a.Held || a.Approval != nil {
			continue
		}
		a.Held, a.HeldBy, a.HeldReason = true, res.Name, res.Reason
		res.Held++
	}
	p.Actions = actions
	return p, res
}

// percent formats a percentage for a reason, to one decimal: "12.5%", "40%".
func percent(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "%"
}
