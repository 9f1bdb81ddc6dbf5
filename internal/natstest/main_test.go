package natstest_test

import (
	"testing"

	"github.com/warpcache/warp/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
