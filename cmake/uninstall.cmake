# Removes every file listed in install_manifest.txt (written by the last
# `cmake --install` of this build tree), then the directories of ours that
# this leaves empty (share/doc/libmemif/..., lib/cmake/memif). Run as
# `cmake --build build --target uninstall` (or `make uninstall`), with the
# same DESTDIR as the install if one was used.
if(NOT DEFINED MANIFEST)
	set(MANIFEST "${CMAKE_CURRENT_BINARY_DIR}/install_manifest.txt")
endif()
if(NOT EXISTS "${MANIFEST}")
	message(FATAL_ERROR "Cannot find install manifest: ${MANIFEST} (install first)")
endif()

file(STRINGS "${MANIFEST}" files)
set(dirs)
foreach(file IN LISTS files)
	set(path "$ENV{DESTDIR}${file}")
	if(IS_SYMLINK "${path}" OR EXISTS "${path}")
		message(STATUS "Uninstalling: ${path}")
		file(REMOVE "${path}")
		if(IS_SYMLINK "${path}" OR EXISTS "${path}")
			message(FATAL_ERROR "Could not remove ${path}")
		endif()
	else()
		message(STATUS "Not present: ${path}")
	endif()
	get_filename_component(dir "${path}" DIRECTORY)
	list(APPEND dirs "${dir}")
endforeach()

# Directories only libmemif installs into, deepest first; each is removed
# only once empty, and never above .../doc/libmemif or .../cmake/memif.
list(REMOVE_DUPLICATES dirs)
list(SORT dirs)
list(REVERSE dirs)
foreach(dir IN LISTS dirs)
	while(dir MATCHES "/doc/libmemif(/|$)|/cmake/memif$")
		file(GLOB left "${dir}/*")
		if(left OR NOT IS_DIRECTORY "${dir}")
			break()
		endif()
		message(STATUS "Removing empty directory: ${dir}")
		file(REMOVE_RECURSE "${dir}")
		get_filename_component(dir "${dir}" DIRECTORY)
	endwhile()
endforeach()
