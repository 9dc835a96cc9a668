// Clang's thread-safety analysis (-Wthread-safety; the sanitizer build of
// the test command compiles with clang and makes its findings errors), as
// LevelDB's port/thread_annotations.h. With other compilers the macros are
// empty. Use them with the capabilities of common/mutex.h: libstdc++'s
// std::mutex carries no annotations.
#pragma once

#if defined(__clang__)
#define ORDERING_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define ORDERING_THREAD_ANNOTATION(x)
#endif

#ifndef CAPABILITY
#define CAPABILITY(x) ORDERING_THREAD_ANNOTATION(capability(x))
#endif
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY ORDERING_THREAD_ANNOTATION(scoped_lockable)
#endif
// The member may be read or written only with `x` held.
#ifndef GUARDED_BY
#define GUARDED_BY(x) ORDERING_THREAD_ANNOTATION(guarded_by(x))
#endif
// The function (or lambda) runs with these held.
#ifndef REQUIRES
#define REQUIRES(...) ORDERING_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#endif
#ifndef REQUIRES_SHARED
#define REQUIRES_SHARED(...) ORDERING_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#endif
#ifndef ACQUIRE
#define ACQUIRE(...) ORDERING_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#endif
#ifndef ACQUIRE_SHARED
#define ACQUIRE_SHARED(...) ORDERING_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) ORDERING_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_SHARED
#define RELEASE_SHARED(...) ORDERING_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_GENERIC
#define RELEASE_GENERIC(...) ORDERING_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#endif
// The function takes these itself: callers must not hold them.
#ifndef EXCLUDES
#define EXCLUDES(...) ORDERING_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#endif
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS ORDERING_THREAD_ANNOTATION(no_thread_safety_analysis)
#endif
