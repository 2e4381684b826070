// Declarations of the WASI host functions, implemented by family in wasi/*.cpp. Each
// reads its arguments from the call's slots and returns an errno.
#pragma once

#include "wasi/context.hpp"

namespace edgecar::wasi::fn {

using Impl = Context::Impl;

#define WASI_FN(name, sig) Errno name(Impl& ctx, HostCall& call, const GuestMemory& mem);
#define WASI_ALT(name, impl, sig) WASI_FN(impl, sig)
#include "wasi/functions.def"
#undef WASI_ALT
#undef WASI_FN

}  // namespace edgecar::wasi::fn
