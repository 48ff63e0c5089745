package reasm

// Budget caps the bytes held out of order across all the Dirs that share
// it, so that a capture full of lossy flows cannot exhaust memory. When a
// Dir cannot get bytes from its Budget it gives up its oldest hole as lost
// instead of waiting for it. A Budget is for use by one goroutine.
type Budget struct {
	max  int
	used int
}

// NewBudget returns a Budget of max bytes; DefaultBudget suits a capture.
func NewBudget(max int) *Budget { return &Budget{max: max} }

// Used returns the bytes currently held against b.
func (b *Budget) Used() int {
	if b == nil {
		return 0
	}
	return b.used
}

// take reserves n bytes and reports whether they were available. A nil
// Budget has no cap.
func (b *Budget) take(n int) bool {
	if b == nil {
		return true
	}
	if n > b.max-b.used {
		return false
	}
	b.used += n
	return true
}

// give returns n bytes reserved by take.
func (b *Budget) give(n int) {
	if b != nil {
		b.used -= n
	}
}
