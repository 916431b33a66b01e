package daemon

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/secret"
)

// MaxEventBodyBytes bounds one notification: a SCIM bulk request or an Okta delivery
// of many events is larger than the admin API's requests, but still small.
const MaxEventBodyBytes = 1 << 20

// maxValidationToken bounds the Graph validation token echoed back.
const maxValidationToken = 1024

// eventsToken is the token /v1/events requires: server.events_token_file's, else
// the admin token. With neither it answers 403 and returns false.
func (a *API) eventsToken(w http.ResponseWriter) (secret.Secret, bool) {
	t := a.Token()
	if a.EventsToken != nil && !a.EventsToken().IsZero() {
		t = a.EventsToken()
	}
	if t.IsZero() {
		writeError(w, http.StatusForbidden, "/v1/events is disabled: neither server.events_token_file nor server.token_file is configured")
		return t, false
	}
	return t, true
}

// bearer reports whether the request carries no Authorization header, or one whose
// bearer token equals want (compared in constant time).
func bearer(r *http.Request, want secret.Secret) (present, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return false, false
	}
	got, isBearer := strings.CutPrefix(h, "Bearer ")
	return true, isBearer && secret.New(got).Equal(want)
}

// events serves POST /v1/events: a change notification in one of the shapes
// ParseNotification reads, queued for a targeted run (202 with what was queued).
// Microsoft Graph's subscription handshake (?validationToken=...) is answered with
// the token as text/plain. Graph sends no Authorization header: its notifications
// are accepted when every clientState equals the token instead.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("validationToken"); v != "" {
		if len(v) > maxValidationToken {
			writeError(w, http.StatusBadRequest, "validationToken is too long")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		// Graph's handshake wants the token echoed as text/plain; nosniff keeps a
		// browser from reading it as anything else.
		_, _ = io.WriteString(w, v) //nolint:gosec // G705: plain text, not HTML, by protocol
		return
	}
	want, ok := a.eventsToken(w)
	if !ok {
		return
	}
	present, ok := bearer(r, want)
	if present && !ok { // a wrong token is refused before the body is read
		unauthorized(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxEventBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	n, perr := ParseNotification(body)
	if !present && !clientStatesMatch(n, perr, want) {
		unauthorized(w)
		return
	}
	if perr != nil {
		writeError(w, http.StatusBadRequest, "body: "+perr.Error())
		return
	}
	if len(n.Keys) > 0 {
		if err := a.Notify(r.Context(), n); err != nil {
			a.fail(w, "queueing the event", err)
			return
		}
	}
	a.Logger.Info("change notification queued", zap.String("format", n.Format), zap.Int("people", len(n.Keys)))
	keys := n.Keys
	if keys == nil {
		keys = []string{}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "queued", "format": n.Format, "queued": keys})
}

// clientStatesMatch reports whether a Graph notification authenticates itself: every
// item carries the token as its clientState.
func clientStatesMatch(n Notification, parseErr error, want secret.Secret) bool {
	if parseErr != nil || n.Format != FormatGraph || len(n.ClientStates) == 0 {
		return false
	}
	for _, cs := range n.ClientStates {
		if !secret.New(cs).Equal(want) {
			return false
		}
	}
	return true
}

// verifyOkta answers Okta's one-time event hook verification: a GET carrying
// X-Okta-Verification-Challenge (and the Authorization header configured on the
// hook), answered with {"verification": <the challenge>}.
func (a *API) verifyOkta(w http.ResponseWriter, r *http.Request) {
	want, ok := a.eventsToken(w)
	if !ok {
		return
	}
	if _, ok := bearer(r, want); !ok {
		unauthorized(w)
		return
	}
	challenge := r.Header.Get("X-Okta-Verification-Challenge")
	if challenge == "" || len(challenge) > maxValidationToken {
		writeError(w, http.StatusBadRequest, "GET /v1/events answers Okta's verification: the X-Okta-Verification-Challenge header is missing or too long")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"verification": challenge})
}

// unauthorized answers 401 with the challenge a bearer client expects.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="syncd"`)
	writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
}
