package merge

// Value is a value together with the version it was written at.
type Value[T any] struct {
	Data    T
	Version Version
}

// Newer reports whether a was written after b.
func (a Value[T]) Newer(b Value[T]) bool { return a.Version > b.Version }
