// Module validation (spec 3): typing of every function body, constant expressions,
// limits, indices, exports and the start function. Errors are ErrorKind::Invalid and
// name the function, instruction and byte offset.
#pragma once

#include "binary/module.hpp"

namespace edgecar::validate {

// Standard::V2_0: at most one memory, and constant expressions read imported globals only.
// type_ids, when given, receives the canonical id of each type (validate/types.hpp).
Expected<void> validate(const binary::Module& module, Standard standard = Standard::V3_0,
                        std::vector<uint32_t>* type_ids = nullptr);

}  // namespace edgecar::validate
