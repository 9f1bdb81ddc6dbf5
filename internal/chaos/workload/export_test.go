package workload

// Test seams for the external tests.

// Wait waits until every client of w has issued its MaxOps operations.
func Wait(w *Workload) { w.wg.Wait() }
