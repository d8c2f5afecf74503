package solver

import "unsafe"

// block hands out slices carved from larger allocations: a solve makes
// many small slices (a record's deps, a name's candidates), and one
// allocation for many of them is cheaper than one each. Allocations start
// small and double, so that a small problem allocates little. After
// reset, it hands out its earlier allocations again.
type block[T any] struct {
	free   []T
	size   int   // elements of the next allocation
	chunks [][]T // its allocations, for reuse after reset
	next   int   // chunks[:next] are being handed out
}

// Bytes of a block's first and largest allocations.
const (
	blockFirst = 256
	blockMax   = 8192
)

// take returns an empty slice with room for n elements. Appending beyond n
// reallocates it, as usual.
func (b *block[T]) take(n int) []T {
	if n > len(b.free) {
		var zero T
		elem := max(1, int(unsafe.Sizeof(zero)))
		if b.size == 0 {
			b.size = max(4, blockFirst/elem)
		}
		if n > max(4, blockMax/elem)/4 {
			return make([]T, 0, n)
		}
		for b.size < 4*n {
			b.size *= 2
		}
		switch {
		case b.next < len(b.chunks) && len(b.chunks[b.next]) >= 4*n:
			b.free = b.chunks[b.next]
		case b.next < len(b.chunks):
			b.free = make([]T, b.size)
			b.chunks[b.next] = b.free
		default:
			b.free = make([]T, b.size)
			b.chunks = append(b.chunks, b.free)
		}
		b.next++
		b.size = min(2*b.size, max(4, blockMax/elem))
	}
	s := b.free[:0:n]
	b.free = b.free[n:]
	return s
}

// preset makes the block hand out s first.
func (b *block[T]) preset(s []T) {
	b.free, b.chunks, b.next = s, append(b.chunks[:0], s), 1
}

// reset makes the block hand out its allocations again. Nothing it handed
// out may be in use any more; the elements are not cleared.
func (b *block[T]) reset() {
	b.free, b.size, b.next = nil, 0, 0
}
