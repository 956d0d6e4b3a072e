package channels

// StatusPhrase words a channel record's status for an error message that
// reads "channel X is <phrase> and sends nothing…": "paused", "in error".
func StatusPhrase(status string) string {
	if status == "error" {
		return "in error"
	}
	return status
}
