package shard

import (
	"testing"

	"github.com/warpcache/warp/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }
