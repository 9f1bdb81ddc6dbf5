module github.com/warpcache/warp

go 1.26
