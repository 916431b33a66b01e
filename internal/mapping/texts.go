package mapping

import "strings"

// texts packs the short strings that mapping makes for every person (the lower-cased
// Username, the generated Alias) into shared blocks: one allocation per block instead
// of one per string, which at a million people saves two million small allocations
// and the collector's work on them. Each string is a slice of a block's String(): a
// strings.Builder only ever appends, so what it has handed out never changes. A block
// stays alive as long as any string in it, like the chunks of fieldAlloc.
type texts struct {
	block strings.Builder
}

// textBlock is the size of a block; longer strings get an allocation of their own.
const textBlock = 8 << 10

// add returns p as a string.
func (t *texts) add(p []byte) string {
	if len(p) > textBlock/16 {
		return string(p)
	}
	if t.block.Cap()-t.block.Len() < len(p) {
		t.block = strings.Builder{}
		t.block.Grow(textBlock)
	}
	t.block.Write(p)
	s := t.block.String()
	return s[len(s)-len(p):]
}

// lower returns strings.ToLower(s): s itself when it has no upper-case letter, the
// ASCII ones lower-cased into a block, others as strings.ToLower makes them.
func (t *texts) lower(s string) string {
	var buf [128]byte
	lower, ok := lowerASCII(buf[:0], s)
	switch {
	case !ok:
		return strings.ToLower(s)
	case string(lower) == s:
		return s
	}
	return t.add(lower)
}
