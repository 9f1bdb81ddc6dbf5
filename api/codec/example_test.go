package codec_test

import (
	"fmt"

	"github.com/warpcache/warp/api/codec"
)

type point struct{ X, Y int }

func ExampleDefault() {
	c := codec.Default[point]()
	b, err := c.Append(nil, point{X: 1, Y: -2})
	if err != nil {
		panic(err)
	}
	p, err := c.Decode(b)
	fmt.Printf("%d bytes, %+v, %v\n", len(b), p, err)
	// Output: 7 bytes, {X:1 Y:-2}, <nil>
}

func ExampleJSON() {
	b, _ := codec.JSON[point]{}.Append(nil, point{X: 1, Y: -2})
	fmt.Println(string(b))
	// Output: {"X":1,"Y":-2}
}
