module gatehouse.dev/e2e

go 1.26.0

require gatehouse.dev/shared v0.0.0

replace gatehouse.dev/shared => ../shared
