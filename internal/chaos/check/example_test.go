package check_test

import (
	"context"
	"fmt"
	"time"

	"github.com/warpcache/warp/internal/chaos/check"
	"github.com/warpcache/warp/internal/chaos/history"
)

// A write of s:1 returned at 10 ms; a read invoked at 20 ms on another
// node still returned the initial value: not linearizable.
func ExampleLinearizable() {
	ms := int64(time.Millisecond)
	ops := []history.Op{
		{Client: 0, Node: "n1", Kind: history.Write, Keys: []string{"s:1"}, Values: []string{"a"}, Call: 0, Return: 10 * ms},
		{Client: 1, Node: "n2", Kind: history.Read, Keys: []string{"s:1"}, Values: []string{"init"}, Call: 20 * ms, Return: 30 * ms},
	}
	vs, _ := check.Linearizable(context.Background(), ops, "s:", "init", time.Second)
	for _, v := range vs {
		fmt.Println(v.Key, v.Result)
	}
	for _, r := range check.Stale(ops, "s:", "init", 0).Over {
		fmt.Println(r)
	}
	// Output:
	// s:1 Illegal
	// n2 read s:1 = "init" at 20ms, 10ms after n1's write of "a" (invoked after "init" was written) returned
}
