module gatehouse.dev/demo-upstream

go 1.26.0
