#ifndef COTFORGE_CSPIN_H
#define COTFORGE_CSPIN_H

/// A spin-wait hint (x86 `pause`, Arm `yield`): a thread polling a flag tells the CPU so, which
/// keeps the loop from starving its hyper-thread sibling and ends it faster when the flag
/// changes. Swift has no spelling for either instruction.
static inline void cotforge_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

#endif
