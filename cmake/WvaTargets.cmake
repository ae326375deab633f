# Helpers that give every plugin, test and benchmark the same shape.

# wva_add_plugin(NAME <name> EXPORT <file that holds WVA_PLUGIN> [SOURCES <logic files>] [LIBS <libs>])
#
# Builds the logic as a static library `wva_<name>_lib` (linked by the plugin's tests, no .so needed)
# and the loadable module <build>/plugins/lib<name>.so from the export file.
function(wva_add_plugin)
  cmake_parse_arguments(P "" "NAME;EXPORT" "SOURCES;LIBS" ${ARGN})
  string(REPLACE "-" "_" target_name "${P_NAME}")
  if(P_SOURCES)
    add_library(wva_${target_name}_lib STATIC ${P_SOURCES})
    target_include_directories(wva_${target_name}_lib PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(wva_${target_name}_lib PUBLIC wva_sdk ${P_LIBS} PRIVATE wva_warnings)
    set_target_properties(wva_${target_name}_lib PROPERTIES CXX_VISIBILITY_PRESET hidden
                                                            VISIBILITY_INLINES_HIDDEN ON)
  else()
    add_library(wva_${target_name}_lib INTERFACE)
    target_include_directories(wva_${target_name}_lib INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(wva_${target_name}_lib INTERFACE wva_sdk ${P_LIBS})
  endif()
  add_library(wva_plugin_${target_name} MODULE ${P_EXPORT})
  target_link_libraries(wva_plugin_${target_name} PRIVATE wva_${target_name}_lib wva_warnings)
  set_target_properties(wva_plugin_${target_name} PROPERTIES
    OUTPUT_NAME ${P_NAME} PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${WVA_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(wva_plugin_${target_name} PRIVATE -Wl,--no-undefined)
  install(TARGETS wva_plugin_${target_name} LIBRARY DESTINATION ${WVA_PLUGIN_INSTALL_DIR})
  set_property(GLOBAL APPEND PROPERTY WVA_PLUGIN_TARGETS wva_plugin_${target_name})
endfunction()

# wva_add_test(NAME <name> SOURCES <files> [LIBS <libs>] [LABELS <labels>] [NEEDS_PLUGINS])
#
# A GoogleTest program in <build>/tests; each TEST becomes one ctest test. NEEDS_PLUGINS makes it
# depend on every plugin module so tests that load .so files find them built.
function(wva_add_test)
  cmake_parse_arguments(T "NEEDS_PLUGINS" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT WVA_BUILD_TESTS)
    # A placeholder that is never built, so plugin CMakeLists may still set properties on it.
    add_executable(${T_NAME} EXCLUDE_FROM_ALL ${T_SOURCES})
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} wva_test_support GTest::gtest GTest::gmock GTest::gtest_main wva_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    WVA_BUILD_DIR="${PROJECT_BINARY_DIR}"
    WVA_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    WVA_PLUGIN_DIR="${WVA_PLUGIN_OUTPUT_DIR}"
    WVA_DATA_DIR="${PROJECT_SOURCE_DIR}/data")
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  if(T_NEEDS_PLUGINS)
    set_property(GLOBAL APPEND PROPERTY WVA_TESTS_NEEDING_PLUGINS ${T_NAME})
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${T_NAME} PROPERTIES LABELS "${T_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()

# wva_add_benchmark(NAME <name> SOURCES <files> [LIBS <libs>]): <build>/bench/<name>, not run by ctest.
function(wva_add_benchmark)
  cmake_parse_arguments(B "" "NAME" "SOURCES;LIBS" ${ARGN})
  if(NOT WVA_BUILD_BENCHMARKS)
    return()
  endif()
  add_executable(${B_NAME} ${B_SOURCES})
  target_link_libraries(${B_NAME} PRIVATE ${B_LIBS} benchmark::benchmark benchmark::benchmark_main wva_warnings)
  target_compile_definitions(${B_NAME} PRIVATE WVA_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                              WVA_DATA_DIR="${PROJECT_SOURCE_DIR}/data")
  set_target_properties(${B_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endfunction()
