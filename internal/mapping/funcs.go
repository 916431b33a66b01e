package mapping

import (
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// templateFuncs are the functions templates may call. Arguments come first and the
// piped value last, so they read naturally in pipelines: {{ .Title | truncate 40 }},
// {{ .Department | default "General" }}.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"lower":     strings.ToLower,
		"upper":     strings.ToUpper,
		"trim":      strings.TrimSpace,
		"truncate":  truncate,
		"asciifold": asciiFold,
		"default":   defaultString,
		"replace":   func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	}
}

// truncate cuts s to at most n characters (runes), as Salesforce counts field lengths.
func truncate(n int, s string) string {
	if n < 0 {
		n = 0
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// defaultString returns v, or def when v is blank.
func defaultString(def, v string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// asciiFold turns text into plain ASCII: accents are removed ("Núñez" → "Nunez"),
// letters without a decomposition are spelled out ("ß" → "ss", "Ø" → "O"), and what
// cannot be folded (e.g. CJK) is dropped.
func asciiFold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// a combining mark left by the decomposition: drop it
		default:
			b.WriteString(foldSpecial(r))
		}
	}
	return b.String()
}

// foldSpecial spells out letters that Unicode does not decompose into ASCII.
func foldSpecial(r rune) string {
	switch r {
	case 'ß':
		return "ss"
	case 'ẞ':
		return "SS"
	case 'æ':
		return "ae"
	case 'Æ':
		return "AE"
	case 'œ':
		return "oe"
	case 'Œ':
		return "OE"
	case 'ø':
		return "o"
	case 'Ø':
		return "O"
	case 'ł':
		return "l"
	case 'Ł':
		return "L"
	case 'đ', 'ð':
		return "d"
	case 'Đ', 'Ð':
		return "D"
	case 'þ':
		return "th"
	case 'Þ':
		return "TH"
	case 'ı':
		return "i"
	case '’', '‘':
		return "'"
	}
	return ""
}

// aliasLength is the most characters Salesforce accepts in Alias.
const aliasLength = 8

// generateAlias builds an Alias when none is configured: the first letter of the
// given name and the family name, folded to lower-case ASCII letters and digits, at
// most 8 characters ("Zoë Núñez" → "znunez"). Names with nothing foldable (e.g.
// written in CJK) fall back to the email's local part, then to "user". Alias need not
// be unique, so no collision handling is needed. The alias is kept in t.
func generateAlias(t *texts, given, family, email string) string {
	var buf, fam [aliasLength]byte
	alias := buf[:0]
	if familyChars := appendAliasChars(fam[:0], family, aliasLength); len(familyChars) > 0 {
		alias = appendAliasChars(alias, given, 1)
		alias = append(alias, familyChars[:min(len(familyChars), aliasLength-len(alias))]...)
	} else {
		local, _, _ := strings.Cut(email, "@")
		alias = appendAliasChars(alias, local, aliasLength)
	}
	if len(alias) == 0 {
		return "user"
	}
	return t.add(alias)
}

// appendAliasChars appends up to n of the lower-case ASCII letters and digits of the
// folded text to b, stopping when b is full (b comes from a fixed array, so appending
// never allocates). The folded text is ASCII, so it is read byte by byte.
func appendAliasChars(b []byte, s string, n int) []byte {
	folded := asciiFold(s)
	for i, added := 0, 0; i < len(folded) && added < n && len(b) < cap(b); i++ {
		switch c := folded[i]; {
		case c >= 'A' && c <= 'Z':
			b = append(b, c-'A'+'a')
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			b = append(b, c)
		default:
			continue
		}
		added++
	}
	return b
}
