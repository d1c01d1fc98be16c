package export

// SetWholeListings makes incremental exports read listings whole from n
// pages rendered again (tests); the returned function restores it.
func SetWholeListings(n int) (restore func()) {
	old := wholeListings
	wholeListings = n
	return func() { wholeListings = old }
}
