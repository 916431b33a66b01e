package daemon

import (
	"fmt"
	"regexp"
	"strings"

	"go.uber.org/zap/zapcore"

	"github.com/syncd-io/syncd/internal/secret"
)

// Placeholders that replace what a log line must not show.
const (
	RedactedEmail = "<email>"
	RedactedPII   = "<redacted>"
)

// emailPattern finds email addresses (and Salesforce usernames, which look the same)
// anywhere in a message or a value.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+`)

// personKeys are the field names that carry a person's name or address.
var personKeys = map[string]bool{
	"email": true, "username": true, "name": true, "first_name": true, "last_name": true,
	"given_name": true, "family_name": true,
}

// Redact wraps core so that no line shows a secret, whatever the setting: every
// occurrence of a value in secrets is replaced by secret.Redacted. Unless pii is
// set, it also hides people: email addresses anywhere are replaced, and fields named
// like a person's name or address are blanked. It redacts at the logger, so that
// a line added anywhere later is covered too.
func Redact(core zapcore.Core, pii bool, secrets ...secret.Secret) zapcore.Core {
	var pairs []string
	for _, s := range secrets {
		if v := s.Reveal(); v != "" {
			pairs = append(pairs, v, secret.Redacted)
		}
	}
	return &redactCore{Core: core, r: &redactor{pii: pii, secrets: strings.NewReplacer(pairs...)}}
}

type redactor struct {
	pii     bool
	secrets *strings.Replacer
}

func (r *redactor) text(s string) string {
	s = r.secrets.Replace(s)
	if !r.pii {
		s = emailPattern.ReplaceAllString(s, RedactedEmail)
	}
	return s
}

func (r *redactor) fields(fs []zapcore.Field) []zapcore.Field {
	out := make([]zapcore.Field, len(fs))
	for i, f := range fs {
		out[i] = r.field(f)
	}
	return out
}

func (r *redactor) field(f zapcore.Field) zapcore.Field {
	if !r.pii && personKeys[strings.ToLower(f.Key)] {
		return zapcore.Field{Key: f.Key, Type: zapcore.StringType, String: RedactedPII}
	}
	var s string
	switch f.Type {
	case zapcore.StringType:
		s = f.String
	case zapcore.ErrorType:
		err, _ := f.Interface.(error)
		if err == nil {
			return f
		}
		s = err.Error()
	case zapcore.StringerType:
		s = fmt.Sprint(f.Interface)
	case zapcore.ReflectType, zapcore.ObjectMarshalerType, zapcore.ArrayMarshalerType, zapcore.ByteStringType, zapcore.BinaryType:
		s = fmt.Sprintf("%v", f.Interface)
		if f.Type == zapcore.ByteStringType || f.Type == zapcore.BinaryType {
			s = fmt.Sprintf("%s", f.Interface)
		}
	default:
		return f
	}
	return zapcore.Field{Key: f.Key, Type: zapcore.StringType, String: r.text(s)}
}

type redactCore struct {
	zapcore.Core
	r *redactor
}

func (c *redactCore) With(fs []zapcore.Field) zapcore.Core {
	return &redactCore{Core: c.Core.With(c.r.fields(fs)), r: c.r}
}

func (c *redactCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *redactCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	e.Message = c.r.text(e.Message)
	return c.Core.Write(e, c.r.fields(fs))
}
