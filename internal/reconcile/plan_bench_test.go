//go:build unix

package reconcile

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd-io/syncd/internal/benchkit"
	"github.com/syncd-io/syncd/internal/mapping"
)

// BenchmarkCalculate plans one cycle over n desired people and about n Salesforce
// users with 13 managed fields each (8 always, 5 on_create). "steady" is a usual
// cycle: every person linked, 1 % with a drifted field to update, 0.1 % new hires to
// create (so the keys are searched), 0.1 % leavers to deactivate and 0.5 % unmanaged
// users. "first" is the first cycle of a new installation: no links at all, every
// person adopted by FederationIdentifier, the worst case for the key maps. The users
// arrive in another order than the people, as SOQL and an export would give them
// (benchInput says how). "scattered" is the steady cycle with every side's memory
// shuffled too, a worst case no decoder produces.
//
// Besides ns/op, B/op and allocs/op it reports cpu-s, the CPU time of the whole
// process per plan (GC included; wall time misleads on a shared machine), input-MiB,
// the live heap of the input before planning, plan-MiB, what the plan retains, and
// gc/op, the collections during the plan.
// The peak heap of a cycle is at most input-MiB plus B/op.
func BenchmarkCalculate(b *testing.B) {
	for _, bc := range []struct {
		name              string
		n                 int
		linked, scattered bool
	}{
		{"steady/100k", 100_000, true, false},
		{"steady/1M", 1_000_000, true, false},
		{"first/100k", 100_000, false, false},
		{"first/1M", 1_000_000, false, false},
		{"scattered/100k", 100_000, true, true},
		{"scattered/1M", 1_000_000, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := benchInput(bc.n, bc.linked, bc.scattered)
			pol := Policy{Mode: ModeSync, Guardrails: Guardrails{MaxDeactivations: 50, MaxDeactivationPercent: 5, MaxSourceShrinkPercent: 10}}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			input := ms.HeapAlloc
			gcs := ms.NumGC
			var cpu time.Duration
			var p Plan
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				start := processCPU(b)
				p = Calculate(in, pol)
				cpu += processCPU(b) - start
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.NumGC-gcs)/float64(b.N), "gc/op")
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if want := bc.n / 1000; bc.linked && len(p.Actions) < want {
				b.Fatalf("%d actions, want at least %d", len(p.Actions), want)
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
			b.ReportMetric(float64(input)/(1<<20), "input-MiB")
			b.ReportMetric((float64(ms.HeapAlloc)-float64(input))/(1<<20), "plan-MiB")
			runtime.KeepAlive(p)
			runtime.KeepAlive(in)
		})
	}
}

// BenchmarkMapBaseline is what n inserts into a map[string]int32 sized up front, then
// n lookups in another order, cost on this machine at this moment, with keys of 15
// bytes allocated one by one. It is the unit to scale Calculate's figures by when the
// machine is shared: Calculate does twice this work in maps (users by Id and people
// by IdP id, each filled once and looked up once per link), plus the diff.
func BenchmarkMapBaseline(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = strings.Clone(sfID(i)[:15])
			}
			lookups := slices.Clone(keys)
			rand.New(rand.NewPCG(2, 2)).Shuffle(n, func(i, j int) { lookups[i], lookups[j] = lookups[j], lookups[i] })
			var cpu time.Duration
			for b.Loop() {
				start := processCPU(b)
				m := make(map[string]int32, n)
				for i, k := range keys {
					m[k] = int32(i)
				}
				for _, k := range lookups {
					if _, ok := m[k]; !ok {
						b.Fatal("lost a key")
					}
				}
				cpu += processCPU(b) - start
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
		})
	}
}

// processCPU returns the CPU time, user and system, the process has used so far.
func processCPU(b *testing.B) time.Duration {
	cpu, err := benchkit.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}

// benchInput builds the cycle BenchmarkCalculate describes. Values shared by many
// users (picklists, profiles, departments) are shared strings, as mapping makes them.
//
// Each side is built in its own order, as the code that reads it allocates it: the
// people in the export's order, the users in the order SOQL returns them, the links in
// the store's order (by IdP id), and the three orders are unrelated (random
// permutations of each other). So reading one side from first to last walks its
// memory from first to last, as in a real cycle, and following a match from one side
// to another lands anywhere. With scattered, every side is shuffled after it was built
// instead: even reading a side in order then lands anywhere in memory, a worst case no
// decoder produces.
func benchInput(n int, linked, scattered bool) Input {
	departments := make([]string, 50)
	for i := range departments {
		departments[i] = "Department " + strconv.Itoa(i)
	}
	in := Input{
		Desired:  make([]mapping.Desired, 0, n),
		Existing: make([]Existing, 0, n+n/100),
		Source:   Source{Complete: true, Count: n, Baseline: n},
	}
	if linked {
		in.Links = make([]Link, 0, n+n/100)
	}
	idpOf := func(i int) string { return "00u" + strconv.Itoa(1_000_000_000+i) }
	// The people share one spec per field, as the people of one Mapper do.
	spec := func(name string, mode mapping.Mode) *mapping.FieldSpec {
		return &mapping.FieldSpec{Name: name, Mode: mode}
	}
	specs := []*mapping.FieldSpec{
		spec("Alias", mapping.Always), spec("Department", mapping.Always), spec("Email", mapping.Always),
		spec("EmailEncodingKey", mapping.OnCreate), spec("FederationIdentifier", mapping.Always),
		spec("FirstName", mapping.Always), spec("LanguageLocaleKey", mapping.OnCreate),
		spec("LastName", mapping.Always), spec("LocaleSidKey", mapping.OnCreate),
		spec("ProfileId", mapping.OnCreate), spec("TimeZoneSidKey", mapping.OnCreate),
		spec("Title", mapping.Always), spec("Username", mapping.Always),
	}
	fieldsOf := func(i int) []mapping.Field {
		idp := idpOf(i)
		email := "user" + strconv.Itoa(i) + "@acme.example"
		values := []string{
			"u" + strconv.Itoa(i%10_000_000), departments[i%len(departments)], email, "UTF-8", idp,
			"Given" + strconv.Itoa(i), "en_US", "Family" + strconv.Itoa(i), "en_US", standardProfile,
			"Europe/Berlin", "Engineer", email,
		}
		fields := make([]mapping.Field, len(specs))
		for k, sp := range specs {
			fields[k] = mapping.Field{FieldSpec: sp, Value: values[k]}
		}
		return fields
	}
	// Who is who: people 0..n-1 are desired, 0.1 % of them new hires (no user);
	// n..n+n/1000-1 are leavers (a linked user, no longer desired); the next n/200 are
	// unmanaged users (admins, integrations: a user, no link).
	leavers, unmanaged := n+n/1000, n+n/1000+n/200
	hasUser := func(i int) bool { return i >= n || i%1000 != 1 }
	r := rand.New(rand.NewPCG(1, 1))
	for _, i := range r.Perm(n) { // the export's order
		in.Desired = append(in.Desired, mapping.Desired{ID: idpOf(i), Fields: fieldsOf(i), Profile: "Standard User"})
	}
	var packer FieldPacker
	var userValues []FieldValue
	for _, i := range r.Perm(unmanaged) { // the org's order
		if !hasUser(i) {
			continue
		}
		fields := fieldsOf(i)
		// Packed copies, as the reader makes them: equal values are not the same
		// memory, so comparing them reads both.
		userValues = userValues[:0]
		for _, f := range fields {
			userValues = append(userValues, FieldValue{Name: f.Name, Value: f.Value})
		}
		if i%100 == 0 {
			userValues[11].Value = "Senior Engineer" // drifted Title: an update
		}
		e := withFields(Existing{ID: sfID(i), IsActive: true, UserType: "Standard", ProfileID: standardProfile}, userValues, &packer)
		in.Existing = append(in.Existing, e)
	}
	if linked { // the store's order: by IdP id, which is the order of i
		for i := range leavers {
			if hasUser(i) {
				in.Links = append(in.Links, Link{IdPID: idpOf(i), SalesforceID: sfID(i)})
			}
		}
	}
	if scattered {
		r.Shuffle(len(in.Desired), func(i, j int) { in.Desired[i], in.Desired[j] = in.Desired[j], in.Desired[i] })
		r.Shuffle(len(in.Existing), func(i, j int) { in.Existing[i], in.Existing[j] = in.Existing[j], in.Existing[i] })
		r.Shuffle(len(in.Links), func(i, j int) { in.Links[i], in.Links[j] = in.Links[j], in.Links[i] })
	}
	return in
}

// BenchmarkPlanParts times two parts of a usual cycle's plan on BenchmarkCalculate's
// steady input, each on its own: taking the hashes of every person and user
// (fingerprint.go) and joining the links with the users and the people (join.go).
func BenchmarkPlanParts(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		in := benchInput(n, true, false)
		c := newCalc(&in, &Policy{}, defaultSplit())
		b.Run("hashes/"+benchName(n), func(b *testing.B) {
			for b.Loop() {
				c.takeFingerprints()
			}
		})
		b.Run("joins/"+benchName(n), func(b *testing.B) {
			for b.Loop() {
				c.joinLinks()
			}
		})
	}
}
