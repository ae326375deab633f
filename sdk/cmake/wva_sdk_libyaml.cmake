# libyaml (Debian: libyaml-dev), which wva/sdk/util/yaml.h reads YAML with, as the imported target
# wva_sdk::libyaml. Sets WVA_SDK_LIBYAML_FOUND.
if(TARGET wva_sdk::libyaml)
  set(WVA_SDK_LIBYAML_FOUND TRUE)
else()
  find_path(WVA_SDK_LIBYAML_INCLUDE_DIR yaml.h)
  find_library(WVA_SDK_LIBYAML_LIBRARY NAMES yaml)
  if(WVA_SDK_LIBYAML_INCLUDE_DIR AND WVA_SDK_LIBYAML_LIBRARY)
    add_library(wva_sdk::libyaml UNKNOWN IMPORTED GLOBAL)
    set_target_properties(wva_sdk::libyaml PROPERTIES IMPORTED_LOCATION "${WVA_SDK_LIBYAML_LIBRARY}"
                                                      INTERFACE_INCLUDE_DIRECTORIES "${WVA_SDK_LIBYAML_INCLUDE_DIR}")
    set(WVA_SDK_LIBYAML_FOUND TRUE)
  else()
    set(WVA_SDK_LIBYAML_FOUND FALSE)
  endif()
endif()
