# The two commands a newcomer needs (see README.md); both work as root on a fresh Debian machine.
.PHONY: demo test bench example package psql stop
demo:   ; scripts/dev demo
test:   ; scripts/dev test
bench:  ; scripts/dev bench
example: ; scripts/dev example
package: ; scripts/dev package
psql:   ; scripts/dev psql
stop:   ; scripts/dev stop
