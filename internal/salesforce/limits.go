package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Usage is the org's API usage over the rolling 24 hours, as Salesforce last reported
// it: Used requests of Max allowed, seen At.
type Usage struct {
	Used int64
	Max  int64
	At   time.Time
}

// Remaining returns how many requests the org has left; negative when the org is over
// its allowance (Salesforce tolerates a small overshoot).
func (u Usage) Remaining() int64 { return u.Max - u.Used }

// LimitInfo is the api-usage part of a Sforce-Limit-Info header.
type LimitInfo struct {
	Used int64
	Max  int64
}

// ParseLimitInfo reads the api-usage part of a Sforce-Limit-Info header such as
// "api-usage=10018/100000; api-bursts=1/750". Other parts (api-bursts,
// per-app-api-usage=17/250(appName=x)) are skipped, separated by ";" or ",".
func ParseLimitInfo(header string) (LimitInfo, error) {
	for part := range strings.FieldsFuncSeq(header, func(r rune) bool { return r == ';' || r == ',' }) {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || strings.TrimSpace(key) != "api-usage" {
			continue
		}
		usedText, maxText, ok := strings.Cut(strings.TrimSpace(value), "/")
		if !ok {
			return LimitInfo{}, fmt.Errorf("salesforce: Sforce-Limit-Info %q: api-usage is not used/max", header)
		}
		used, err1 := strconv.ParseInt(strings.TrimSpace(usedText), 10, 64)
		limit, err2 := strconv.ParseInt(strings.TrimSpace(maxText), 10, 64)
		if err1 != nil || err2 != nil || used < 0 || limit <= 0 {
			return LimitInfo{}, fmt.Errorf("salesforce: Sforce-Limit-Info %q: api-usage needs a count and a positive maximum", header)
		}
		return LimitInfo{Used: used, Max: limit}, nil
	}
	return LimitInfo{}, fmt.Errorf("salesforce: Sforce-Limit-Info %q has no api-usage", header)
}

// recordLimitInfo keeps the usage from an answer's Sforce-Limit-Info header. Answers
// without one (the versions list) or with one that does not parse leave it unchanged.
//
// Concurrent answers arrive in any order, so a reading is ordered by seq, the order in
// which its request was sent. A reading from a request sent after the kept one's
// replaces it, even when it shows less usage: the rolling 24 h window drops old calls,
// and only a later request can show that. A reading from a request sent earlier was
// in flight at the same time as the kept one; between two such close answers
// Salesforce's count only grows, so it replaces the kept usage only when it shows
// more (it was counted later), and never lowers it.
func (c *Client) recordLimitInfo(header string, seq uint64) {
	if header == "" {
		return
	}
	info, err := ParseLimitInfo(header)
	if err != nil {
		return
	}
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	switch {
	case seq > c.usageSeq:
		c.usageSeq = seq
	case info.Used <= c.usage.Used:
		return
	}
	c.usage = Usage{Used: info.Used, Max: info.Max, At: c.now()}
}

// Usage returns the org's API usage from the latest answer; ok is false until an
// answer carried it.
func (c *Client) Usage() (u Usage, ok bool) {
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	return c.usage, c.usage.Max > 0
}

// checkReserve admits a request only if the remaining allowance, less the requests
// already in flight and this one, stays at or above the reserve: concurrent requests
// that each saw the allowance just above it would otherwise spend it together. The
// caller calls release once the answer's usage is recorded (or the request failed).
//
// A reading that refuses is trusted for ReserveRecheck; after that, /limits is read
// once (for all concurrent callers) before refusing, so that writes resume when usage
// fell even if no other call brings a newer reading. Until a first answer tells the
// usage, requests are admitted: the first call of a client is blind.
func (c *Client) checkReserve(ctx context.Context) (release func(), err error) {
	if c.reserve <= 0 {
		return func() {}, nil
	}
	if release, ok := c.admit(); ok {
		return release, nil
	}
	if c.recheckDue() {
		// The re-read's answer updates the usage through its Sforce-Limit-Info; its
		// error, if any, leaves the refusal standing until the next recheck.
		_, _, _ = c.recheck.Do("limits", func() (any, error) {
			if !c.recheckDue() {
				return nil, nil // another caller just re-read
			}
			c.usageMu.Lock()
			c.recheckedAt = c.now()
			c.usageMu.Unlock()
			return c.Limits(ctx)
		})
		if release, ok := c.admit(); ok {
			return release, nil
		}
	}
	u, _ := c.Usage()
	return nil, &ReserveError{Used: u.Used, Max: u.Max, Reserve: c.reserve}
}

// admit counts one more request in flight when the allowance leaves the reserve after
// it and every other request in flight, and returns the function that uncounts it.
func (c *Client) admit() (release func(), ok bool) {
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	u := c.usage
	if u.Max > 0 && float64(u.Remaining()-c.inflight-1) < c.reserve*float64(u.Max) {
		return nil, false
	}
	c.inflight++
	return func() {
		c.usageMu.Lock()
		defer c.usageMu.Unlock()
		c.inflight--
	}, true
}

// recheckDue reports whether the usage reading and the last re-read of /limits are
// both older than ReserveRecheck.
func (c *Client) recheckDue() bool {
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	last := c.usage.At
	if c.recheckedAt.After(last) {
		last = c.recheckedAt
	}
	return c.now().Sub(last) >= c.reserveRecheck
}

// Limit is one entry of GET /limits.
type Limit struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

// Limits maps a limit's name (DailyApiRequests, DailyBulkV2QueryJobs, ...) to its value.
type Limits map[string]Limit

// Limits reads the org's limits. Salesforce computes them about every five minutes, so
// do not poll them fast; every answer's Sforce-Limit-Info already tracks API usage.
// This call is exempt from the reserve: its answer's Sforce-Limit-Info is how a
// client held back by the reserve learns that usage has fallen.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	resp, err := c.do(ctx, &request{endpoint: "limits", method: http.MethodGet, path: c.dataPath("/limits"), exemptReserve: true})
	if err != nil {
		return nil, err
	}
	// Entries that are not {Max, Remaining} objects (there are nested ones) are skipped.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(resp.body, &raw); err != nil {
		return nil, fmt.Errorf("salesforce: decoding /limits: %w", err)
	}
	limits := make(Limits, len(raw))
	for name, v := range raw {
		var l Limit
		if json.Unmarshal(v, &l) == nil {
			limits[name] = l
		}
	}
	return limits, nil
}
