// Package e2etest is the harness of Gatehouse's end-to-end tests: it builds
// the admin-api, sync-hub and dataplane binaries once per test binary run
// (and per version a test asks for),
// runs them as processes against the machine's Postgres (a new database per
// test) and Redis, and gives tests the means to hurt them: stop and kill
// processes, cut links with a TCP proxy, stop a private Postgres or Redis,
// damage a cache on disk.
//
// A test package calls [Main] from TestMain. A scenario then reads:
//
//	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})   // admin-api + sync-hub on a new database
//	up := e2etest.NewUpstream(t, "a")                      // a real upstream server
//	dp := c.StartDataPlane(t, e2etest.DataPlaneOptions{})  // a data plane following the hub
//	c.Admin.MustDo(t, "POST", "/services", map[string]any{"name": "a", "url": up.URL}, 201)
//	dp.WaitServes(t, "/a", 200)
//
// Every wait polls with a deadline ([Eventually]); nothing sleeps and hopes.
// Deadlines are multiplied by GATEHOUSE_E2E_TIMEOUT_SCALE (default 1) on slow
// machines. Processes started by a test are killed when it ends, and their
// logs are printed when it fails.
//
// Environment:
//
//	GATEHOUSE_TEST_PG_URL           the shared Postgres (default postgres://postgres@127.0.0.1:5432/postgres)
//	GATEHOUSE_E2E_TIMEOUT_SCALE     multiplies every deadline (a number, default 1)
//	GATEHOUSE_E2E_RACE              "on" or "off": build the binaries with the race detector or
//	                                not (default: as the test binary runs, so `go test -race`
//	                                shares its build cache and finds races across processes)
//	GATEHOUSE_E2E_BIN_DIR           where the binaries are built (default: gatehouse-e2e in the
//	                                user's cache directory, kept so go build relinks only changes)
//	GATEHOUSE_E2E_KEEP_LOGS         a directory: every process's log is copied there
//	GATEHOUSE_E2E_SUMMARY           a file: the suite's summary is written there too (`make test`
//	                                prints it, since go test shows it only with -v)
package e2etest
