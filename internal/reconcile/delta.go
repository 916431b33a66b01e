package reconcile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
)

// ReadMode says how a cycle read Salesforce.
type ReadMode string

// Read modes.
const (
	// ReadFull read every Standard user (one API call per 2000), and the profiles
	// and roles.
	ReadFull ReadMode = "full"
	// ReadDelta read only the users written since the mirror's watermark, less an
	// overlap, and planned against the mirror overlaid with them: one API call for
	// a quiet org.
	ReadDelta ReadMode = "delta"
)

// DefaultFullEvery is the longest time between two full reads when Config.FullEvery
// is unset.
const DefaultFullEvery = 24 * time.Hour

// Mirror is what syncd remembers of the org between cycles, so that most cycles read
// only what changed. The wiring adapts the store to it (internal/app). Writes are
// the leader's and fenced like the journal's.
type Mirror interface {
	// LoadMirror returns the mirror's state and users; ok is false when no full
	// read was ever recorded.
	LoadMirror(ctx context.Context) (state MirrorState, users []Existing, ok bool, err error)
	// ReplaceMirror records a full read: its state and every user it returned.
	ReplaceMirror(ctx context.Context, state MirrorState, users []Existing) error
	// PatchMirror writes users over their mirror entries and moves the watermark
	// forward to watermark (a zero watermark leaves it).
	PatchMirror(ctx context.Context, watermark time.Time, users []Existing) error
}

// MirrorState is what the mirror holds and how fresh it is.
type MirrorState struct {
	// OrgID is the org the mirror was read from.
	OrgID string
	// Fields are the managed fields its users carry, sorted (managedFields).
	Fields []string
	// Names are the org's profiles and roles as the last full read found them, so
	// that a delta cycle spends no call on them.
	Names Names
	// Watermark is how far the reads so far have seen, on Salesforce's clock: the
	// newest SystemModstamp of a full read, then the time each delta read was
	// answered. The next delta read starts there, less the Directory's overlap.
	Watermark time.Time
	// FullReadAt is when the last full read was taken, on syncd's clock.
	FullReadAt time.Time
}

// readOrg resolves the profile and role names and reads the org's users into c: a
// delta read over the mirror when the mirror can be trusted and full is false, a
// full read otherwise. A delta read never decides anything the full read would not:
// when in doubt (no mirror, another org, other managed fields, a full read older
// than FullEvery, a name the mirror's names lack) the cycle reads everything.
func (e *Engine) readOrg(ctx context.Context, c *cycleData, full bool) error {
	c.read = ReadFull
	if e.cfg.Mirror == nil {
		return e.readFull(ctx, c)
	}
	why := "requested"
	if !full {
		var done bool
		var err error
		if done, why, err = e.readDelta(ctx, c); done || err != nil {
			return err
		}
	}
	e.log.Info("reading every Salesforce user", zap.String("why", why))
	return e.readFull(ctx, c)
}

// readDelta reads the users changed since the mirror's watermark and overlays the
// mirror with them. It returns done false, with the reason, when the mirror cannot
// be trusted; the caller then reads everything.
func (e *Engine) readDelta(ctx context.Context, c *cycleData) (done bool, why string, err error) {
	state, mirrored, ok, err := e.cfg.Mirror.LoadMirror(ctx)
	if err != nil {
		return false, "", fmt.Errorf("reconcile: loading the Salesforce mirror: %w", err)
	}
	if !ok {
		return false, "no full read recorded yet", nil
	}
	org, err := e.cfg.Directory.OrgID(ctx)
	if err != nil {
		return false, "", fmt.Errorf("reconcile: reading the org's Id: %w", err)
	}
	age := c.input.Now.Sub(state.FullReadAt)
	switch {
	case state.OrgID != org:
		return false, fmt.Sprintf("the mirror was read from org %s, syncd now reaches org %s", state.OrgID, org), nil
	case age >= e.cfg.FullEvery || age < 0:
		return false, fmt.Sprintf("the last full read was at %s, full_every is %s", state.FullReadAt.Format(time.RFC3339), e.cfg.FullEvery), nil
	case state.Watermark.IsZero():
		return false, "the mirror has no watermark", nil
	}
	if err := e.resolve(c, state.Names); err != nil {
		return false, fmt.Sprintf("the mirror's profiles and roles do not resolve the mapping's (%v)", err), nil
	}
	fields := managedFields(c.input.Desired)
	if !slices.Equal(fields, state.Fields) {
		return false, fmt.Sprintf("the managed fields changed from %v to %v", state.Fields, fields), nil
	}
	changed, asOf, err := e.cfg.Directory.ReadUsersChangedSince(ctx, fields, state.Watermark)
	if err != nil {
		return true, "", fmt.Errorf("reconcile: reading the Salesforce users changed since %s: %w", state.Watermark.Format(time.RFC3339), err)
	}
	// The next read starts from Salesforce's clock at this one (what committed before
	// it was read), or from the newest write read when the org did not say its time.
	watermark := newest(changed)
	if asOf.After(watermark) {
		watermark = asOf
	}
	if err := e.cfg.Mirror.PatchMirror(ctx, watermark, changed); err != nil {
		return true, "", fmt.Errorf("reconcile: patching the Salesforce mirror: %w", err)
	}
	c.input.Existing, c.read, c.rowsRead = overlay(mirrored, changed), ReadDelta, len(changed)
	return true, "", nil
}

// readFull reads the names and every Standard user, and records the read as the
// mirror when there is one.
func (e *Engine) readFull(ctx context.Context, c *cycleData) error {
	names, err := e.resolveNames(ctx, c)
	if err != nil {
		return err
	}
	fields := managedFields(c.input.Desired)
	progress := func(read, total int) { e.progress(StageRead, read, total) }
	if c.input.Existing, err = e.cfg.Directory.ReadUsers(ctx, fields, progress); err != nil {
		return fmt.Errorf("reconcile: reading Salesforce users: %w", err)
	}
	c.rowsRead = len(c.input.Existing)
	if e.cfg.Mirror == nil {
		return nil
	}
	org, err := e.cfg.Directory.OrgID(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: reading the org's Id: %w", err)
	}
	state := MirrorState{OrgID: org, Fields: fields, Names: names, Watermark: newest(c.input.Existing), FullReadAt: c.input.Now}
	if err := e.cfg.Mirror.ReplaceMirror(ctx, state, c.input.Existing); err != nil {
		return fmt.Errorf("reconcile: recording the Salesforce mirror: %w", err)
	}
	return nil
}

// resolve sets the desired users' profile and role Ids and the protected profiles'
// Ids from names.
func (e *Engine) resolve(c *cycleData, names Names) error {
	c.licenses = names.Licenses
	if err := e.cfg.Mapper.ResolveIDs(c.input.Desired, names.Profiles, names.Roles); err != nil {
		return fmt.Errorf("reconcile: resolving profile and role names: %w", err)
	}
	ids, err := protectedProfileIDs(e.cfg.Policy.Protect.ProfileIDs, e.cfg.ProtectedProfiles, names.Profiles)
	if err != nil {
		return err
	}
	c.policy.Protect.ProfileIDs = ids
	return nil
}

// protectSelf adds the user syncd's session runs as to the cycle's protected users,
// whatever its username and profile (the client-credentials flow configures no
// username, and an integration user need not be a System Administrator).
func (e *Engine) protectSelf(ctx context.Context, c *cycleData) error {
	self, err := e.cfg.Directory.IntegrationUserID(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: learning which user syncd runs as, to protect it: %w", err)
	}
	c.policy.Protect.UserIDs = append(slices.Clip(e.cfg.Policy.Protect.UserIDs), self)
	return nil
}

// overlay returns what a full read would return now: the mirror's users, each
// replaced by its version in the delta read, plus the users the delta read found
// first, less every user that is not Standard (the full read selects only those; a
// user whose profile moved to another license leaves).
func overlay(mirrored, changed []Existing) []Existing {
	byID := make(map[string]int, len(mirrored))
	out := make([]Existing, 0, len(mirrored)+len(changed))
	for _, u := range mirrored {
		byID[u.ID] = len(out)
		out = append(out, u)
	}
	for _, u := range changed {
		if i, ok := byID[u.ID]; ok {
			out[i] = u
			continue
		}
		byID[u.ID] = len(out)
		out = append(out, u)
	}
	return slices.DeleteFunc(out, func(u Existing) bool { return u.UserType != "Standard" })
}

// newest returns the latest SystemModstamp of users, zero for none.
func newest(users []Existing) time.Time {
	var t time.Time
	for _, u := range users {
		if u.SystemModstamp.After(t) {
			t = u.SystemModstamp
		}
	}
	return t
}

// patchMirror writes syncd's own applied updates (deactivations and reactivations
// included) into the mirror, so that it holds what syncd last made of each user.
// The next delta read re-reads these users anyway, since Salesforce stamped the
// writes after the read; the patch keeps the mirror right in between. Creates are
// left to that read: only Salesforce knows what it made of them (UserType, the
// stamps). A failed patch is only logged: the next delta read corrects it.
func (a *applier) patchMirror(ctx context.Context, items []item, results []Result) {
	if a.e.cfg.Mirror == nil {
		return
	}
	var users []Existing
	for i, r := range results {
		act := items[i].a
		u, known := a.existing[act.SalesforceID]
		// A user found otherwise than by a read of the org (a targeted run's look-up
		// by FederationIdentifier) has neither its managed fields nor a stamp.
		if r.Status != ResultApplied || act.Kind == KindCreate || !known || u.SystemModstamp.IsZero() || len(act.Changes) == 0 {
			continue
		}
		users = append(users, written(*u, act.Changes))
	}
	if len(users) == 0 {
		return
	}
	if err := a.e.cfg.Mirror.PatchMirror(ctx, time.Time{}, users); err != nil {
		a.e.log.Warn("patching the Salesforce mirror with syncd's own writes; the next read corrects it", zap.Error(err))
	}
}

// written returns u as it is after changes were written to it.
func written(u Existing, changes []Change) Existing {
	for _, ch := range changes {
		switch ch.Field {
		case "IsActive":
			u.IsActive = ch.After == "true"
		case "Username":
			u.Username = ch.After
		case "Email":
			u.Email = ch.After
		case "FederationIdentifier":
			u.FederationIdentifier = ch.After
		case "ProfileId":
			u.ProfileID = ch.After
		}
		if _, ok := u.Fields.Get(ch.Field); ok {
			u.Fields = u.Fields.With(ch.Field, ch.After)
		}
	}
	return u
}
