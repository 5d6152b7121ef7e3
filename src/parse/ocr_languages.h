// Which OCR languages this machine can use: a collection's ocr_languages setting is checked
// against them when it is made (the parse worker would otherwise fail every scan later).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace kr::parse {

// The Tesseract languages installed here (their .traineddata under TESSDATA_PREFIX or Debian's
// tessdata folder), sorted, without "osd" (script detection, not a language).
std::vector<std::string> installed_ocr_languages();
// kInvalidArgument unless `languages` is "off" or a '+'-separated list ("eng+deu") of installed
// languages; the message names the missing ones, their Debian packages and what is installed.
Status check_ocr_languages(const std::string& languages);

}  // namespace kr::parse
