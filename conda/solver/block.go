package solver

import "unsafe"

// block hands out slices carved from larger allocations: a solve makes
// many small slices (a record's deps, a name's candidates), and one
// allocation for many of them is cheaper than one each.
type block[T any] struct{ free []T }

// blockBytes is about how much memory a block allocates at a time.
const blockBytes = 4096

// take returns an empty slice with room for n elements. Appending beyond n
// reallocates it, as usual.
func (b *block[T]) take(n int) []T {
	if n > len(b.free) {
		var zero T
		size := max(16, blockBytes/max(1, int(unsafe.Sizeof(zero))))
		if n > size/4 {
			return make([]T, 0, n)
		}
		b.free = make([]T, size)
	}
	s := b.free[:0:n]
	b.free = b.free[n:]
	return s
}
