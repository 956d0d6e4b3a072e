package fake

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// limit applies the flood limits. Once a scope is refused, it stays refused
// until its retry_after has passed, as Telegram does, so a sender that
// ignores retry_after keeps being punished (and IgnoredWaits counts it).
func (f *Fake) limit(chat int64) (answer, bool) {
	now := time.Now()
	chatScope := "chat:" + strconv.FormatInt(chat, 10)
	f.mu.Lock()
	for _, s := range []string{"global", chatScope} {
		if until, ok := f.blocked[s]; ok {
			if now.Before(until) {
				f.mu.Unlock()
				return f.tooMany(until.Sub(now)), true
			}
			delete(f.blocked, s)
		}
	}
	f.mu.Unlock()
	if okG, wait := f.globalLimit.Take("bot", now); !okG {
		return f.refuse("global", wait, now), true
	}
	buckets := f.chatLimit
	if chat < 0 {
		buckets = f.groupLimit
	}
	if okC, wait := buckets.Take(chatScope, now); !okC {
		return f.refuse(chatScope, wait, now), true
	}
	return answer{}, false
}

func (f *Fake) refuse(scope string, wait time.Duration, now time.Time) answer {
	a := f.tooMany(wait)
	f.mu.Lock()
	f.blocked[scope] = now.Add(time.Duration(a.retryAfter) * time.Second)
	f.mu.Unlock()
	return a
}

func (f *Fake) tooMany(wait time.Duration) answer {
	a := apiError(http.StatusTooManyRequests, "")
	a.retryAfter = f.retryAfter(wait)
	a.description = fmt.Sprintf("Too Many Requests: retry after %d", a.retryAfter)
	return a
}
