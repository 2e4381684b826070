# Building guest functions (wasm32-wasi modules) inside the host build:
#   edgecar_add_guest(TARGET OUTPUT_DIR SOURCES... [FLAGS ...] [OUTPUT NAME] [DEPENDS headers...])
#   edgecar_add_rust_guest(TARGET OUTPUT_DIR SOURCE [OUTPUT NAME] [FLAGS ...])  Rust
# Each adds a target producing OUTPUT_DIR/NAME.wasm (NAME defaults to TARGET), built by
# default. C++ is recognised by extension; Rust uses Debian's rustc 1.63.
find_program(EDGECAR_WASM_CC clang-19 REQUIRED)
find_program(EDGECAR_WASM_CXX clang++-19 REQUIRED)
# Debian's rustc (with libstd-rust-dev-wasm32), not a rustup toolchain earlier on PATH.
find_program(EDGECAR_WASM_RUSTC rustc PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)

function(edgecar_add_guest target out_dir)
  cmake_parse_arguments(G "" "OUTPUT" "SOURCES;FLAGS;DEPENDS" ${ARGN})
  set(name ${target})
  if(G_OUTPUT)
    set(name ${G_OUTPUT})
  endif()
  set(srcs ${G_SOURCES} ${G_UNPARSED_ARGUMENTS})
  set(compiler ${EDGECAR_WASM_CC})
  set(lang_flags)
  foreach(s ${srcs})
    if(s MATCHES "\\.(cpp|cc|cxx)$")
      set(compiler ${EDGECAR_WASM_CXX})
      set(lang_flags -std=c++20 -fno-exceptions)
    endif()
  endforeach()
  set(abs_srcs)
  foreach(s ${srcs})
    get_filename_component(a ${s} ABSOLUTE)
    list(APPEND abs_srcs ${a})
  endforeach()
  add_custom_command(OUTPUT ${out_dir}/${name}.wasm
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${compiler} --target=wasm32-wasi -O2 -g0 -Wall -Werror ${lang_flags} ${G_FLAGS}
            -o ${out_dir}/${name}.wasm ${abs_srcs}
    DEPENDS ${abs_srcs} ${G_DEPENDS}
    COMMENT "guest ${name}.wasm (wasm32-wasi)"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${out_dir}/${name}.wasm)
endfunction()

function(edgecar_add_rust_guest target out_dir source)
  cmake_parse_arguments(G "" "OUTPUT" "FLAGS" ${ARGN})
  set(name ${target})
  if(G_OUTPUT)
    set(name ${G_OUTPUT})
  endif()
  get_filename_component(src ${source} ABSOLUTE)
  add_custom_command(OUTPUT ${out_dir}/${name}.wasm
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${EDGECAR_WASM_RUSTC} --edition 2021 --target wasm32-wasi -O ${G_FLAGS} -o ${out_dir}/${name}.wasm ${src}
    DEPENDS ${src}
    COMMENT "guest ${name}.wasm (Rust, wasm32-wasi)"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${out_dir}/${name}.wasm)
endfunction()
