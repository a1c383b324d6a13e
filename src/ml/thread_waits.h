// How the engine's OpenMP threads wait for each other at a barrier. libgomp's default is to spin
// 300,000 rounds before sleeping: right for a machine that runs one OpenMP program, ruinous when
// processes share the cores, as a platform's worker processes do, since each barrier then waits out
// the other process's spinning: two 2-thread boosting fits at once on 2 cores took 26 s each
// instead of 1 s. With 1,000 rounds, the count libgomp itself switches to once it sees its own
// threads outnumber the cores, they take 1 s, and a fit alone is a few percent slower
// (bench/ml/README.md has the figures).
//
// libgomp reads the setting (GOMP_SPINCOUNT) from the environment once, when it is loaded, before
// main, and has no call to change it later: so a program that trains sets it and starts itself
// again.
#pragma once

namespace playground::ml {

inline constexpr const char* kThreadWaitSpins = "1000";

// When the environment says nothing of how OpenMP threads wait (neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT is set), sets GOMP_SPINCOUNT to kThreadWaitSpins and executes this program again
// (/proc/self/exe: the same process id) with the same arguments. Returns only when there is
// nothing to do (an operator's setting stands) or the exec failed (libgomp's default then stays).
// Call it first in main, before any thread starts.
void UseShortThreadWaits(char** argv);

}  // namespace playground::ml
