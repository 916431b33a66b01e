package daemon

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd-io/syncd/internal/secret"
)

// line logs one line through Redact and returns it as the JSON encoder writes it.
func line(t *testing.T, pii bool, log func(*zap.Logger)) string {
	t.Helper()
	var b strings.Builder
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := Redact(zapcore.NewCore(enc, zapcore.AddSync(&b), zap.DebugLevel), pii, secret.New("tok-123456"), secret.New("sfsim-client-secret"))
	log(zap.New(core))
	return b.String()
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name      string
		pii       bool
		log       func(*zap.Logger)
		want      []string
		forbidden []string
	}{
		{name: "an email in the message", log: func(l *zap.Logger) { l.Info("created ana@acme.example.com") },
			want: []string{"created " + RedactedEmail}, forbidden: []string{"ana@"}},
		{name: "an email inside an error", log: func(l *zap.Logger) {
			l.Warn("write failed", zap.Error(fmt.Errorf("user bo.berg@acme.example.com: %w", errors.New("DUPLICATE_USERNAME"))))
		}, want: []string{"DUPLICATE_USERNAME", RedactedEmail}, forbidden: []string{"bo.berg"}},
		{name: "person fields are blanked", log: func(l *zap.Logger) {
			l.Info("x", zap.String("first_name", "Ana"), zap.String("last_name", "Alvarez"), zap.String("idp_id", "E1"))
		}, want: []string{`"first_name":"<redacted>"`, `"idp_id":"E1"`}, forbidden: []string{"Alvarez", `"Ana"`}},
		{name: "fields added with With", log: func(l *zap.Logger) { l.With(zap.String("user", "ana@acme.example.com")).Info("x") },
			forbidden: []string{"ana@"}},
		{name: "a secret anywhere, even with pii on", pii: true, log: func(l *zap.Logger) {
			l.Info("token tok-123456", zap.String("header", "Bearer tok-123456"), zap.Any("cfg", map[string]string{"s": "sfsim-client-secret"}))
		}, want: []string{"token <secret>"}, forbidden: []string{"tok-123456", "sfsim-client-secret"}},
		{name: "with pii on, people are shown", pii: true, log: func(l *zap.Logger) {
			l.Info("created ana@acme.example.com", zap.String("last_name", "Alvarez"))
		}, want: []string{"ana@acme.example.com", "Alvarez"}},
		{name: "numbers and ids are left alone", log: func(l *zap.Logger) {
			l.Info("x", zap.Int64("run", 7), zap.String("salesforce_id", "005000000000001AAA"))
		},
			want: []string{`"run":7`, "005000000000001AAA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := line(t, tt.pii, tt.log)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("line %s lacks %q", got, w)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(got, f) {
					t.Errorf("line %s shows %q", got, f)
				}
			}
		})
	}
}

func TestRedactKeepsTheLevel(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	l := zap.New(Redact(core, false))
	l.Info("dropped")
	l.Warn("kept")
	if logs.Len() != 1 {
		t.Errorf("%d lines, want only the warning", logs.Len())
	}
}
