package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/syncd-io/syncd/internal/app"
	"github.com/syncd-io/syncd/internal/mapping"
)

type checkConfigCmd struct {
	Offline bool `help:"Only validate the file and read the secrets; do not contact Salesforce."`
}

// Run checks the configuration as far as it can be checked: the file, the secrets,
// then the org (a token, /limits, and every profile and role name the mapping and
// the protection name). Every problem is listed; the exit code is 1 if any.
func (p *checkConfigCmd) Run(c *cli, e *env) error {
	cfg, err := c.loadConfig(e)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ok    %s is valid\n", c.Config)
	secrets, err := cfg.LoadSecrets(e.lookupEnv)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "ok    secrets are readable")
	if p.Offline {
		return nil
	}
	client, _, err := app.NewClient(cfg, secrets, app.Options{Now: e.now})
	if err != nil {
		return err
	}
	limits, err := client.Limits(e.ctx)
	if err != nil {
		return fmt.Errorf("signing in to %s and reading /limits: %w", cfg.Salesforce.LoginURL, err)
	}
	daily := limits["DailyApiRequests"]
	fmt.Fprintf(e.stdout, "ok    signed in; the org has %d of %d daily API calls left (syncd may spend %.0f%% of the maximum, and stops writing below %.0f%% left)\n",
		daily.Remaining, daily.Max, cfg.Salesforce.Budget.Share*100, *cfg.Salesforce.Budget.Reserve*100)
	names, err := app.NewDirectory(client).ResolveNames(e.ctx)
	if err != nil {
		return fmt.Errorf("reading profiles and roles: %w", err)
	}
	var problems []error
	check := func(kind, key string, want []string, have map[string]string) {
		for _, n := range want {
			if _, ok := have[n]; !ok {
				problems = append(problems, fmt.Errorf("%s: the org has no %s named %q", key, kind, n))
			}
		}
	}
	check("profile", "mapping.profile", profileNames(cfg.Mapping.Profile), names.Profiles)
	check("role", "mapping.role", roleNames(cfg.Mapping.Role), names.Roles)
	check("profile", "policy.protect.profiles", cfg.Policy.Protect.Profiles, names.Profiles)
	if ent := cfg.Mapping.Entitlements; ent.Enabled() {
		if _, err := app.NewEntitlements(client).ReadCatalog(e.ctx, ent.Names()); err != nil {
			var each interface{ Unwrap() []error }
			if errors.As(err, &each) {
				problems = append(problems, each.Unwrap()...)
			} else {
				problems = append(problems, err)
			}
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "FAIL  %v\n", p)
		}
		return withCode(exitError, errors.New("the configuration names profiles, roles or entitlements the org does not have"))
	}
	fmt.Fprintln(e.stdout, "ok    every profile and role named exists in the org")
	if cfg.Mapping.Entitlements.Enabled() {
		fmt.Fprintln(e.stdout, "ok    every permission set, permission set group and licence, public group and queue named exists in the org")
	}
	return nil
}

// profileNames lists every profile the mapping may choose.
func profileNames(a mapping.AssignmentConfig) []string {
	return assignmentNames(a, func(r mapping.Rule) string { return r.Profile })
}

// roleNames lists every role the mapping may choose.
func roleNames(a mapping.AssignmentConfig) []string {
	return assignmentNames(a, func(r mapping.Rule) string { return r.Role })
}

// assignmentNames lists the default and every rule's choice, each once.
func assignmentNames(a mapping.AssignmentConfig, chosen func(mapping.Rule) string) []string {
	out := []string{a.Default}
	for _, r := range a.Rules {
		out = append(out, chosen(r))
	}
	return compact(out)
}

func compact(names []string) []string {
	names = slices.DeleteFunc(names, func(s string) bool { return s == "" })
	slices.Sort(names)
	return slices.Compact(names)
}
