module gatehouse.dev/shared

go 1.26
