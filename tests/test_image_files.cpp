// Image files are checked before stb_image decodes them (datasets/src/encoded_image.h): the PNG or JPEG
// signature (other formats' decoders crash or hang on crafted files), PNG chunk bounds and CRCs, empty files.
#include "datasets_test_util.h"

TEST_F(DatasetsCpu, ImageFilesAreCheckedBeforeDecoding) {
    const std::string png = read_all(write_png_fill("p/a/ok.png", 16, 16, 7));
    // Formats stb_image would guess from the content and whose decoders crash or hang on crafted bytes
    // (CVE-2021-42716: 16-bit PGM; CVE-2021-42715: a truncated RLE HDR spins forever): never handed to it.
    write("p/a/pgm.png", std::string("P5\n4 4\n65535\n") + std::string(32, '\x12'));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("p")); },
                            {path("p/a/pgm.png"), "not a PNG or JPEG file: it starts with 50 35 0a 34"}));
    fs::remove(path("p/a/pgm.png"));
    write("p/a/hdr.png", std::string("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 16 +X 16\n\x02\x02\x00\x10", 51));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("p")); }, {path("p/a/hdr.png"), "not a PNG or JPEG file"}));
    // A PNG whose image data changed on disk (one bit): its chunk CRC no longer matches; stb_image would decode it.
    std::string flipped = png;
    flipped[png.find("IDAT") + 8] ^= 0x10;
    write("c/a/ok.png", png);
    write("c/a/flip.png", flipped);
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("c")); },
                            {path("c/a/flip.png"), "damaged PNG (the CRC of chunk IDAT at byte"}));
    write("e/a/ok.png", png);
    write("e/a/empty.png", "");
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("e")); }, {path("e/a/empty.png"), "the file is empty"}));
}

// A linked image whose target is another class's image would count under two labels: refused. Image files of types
// lrpcu does not read (torchvision's ImageFolder would) are skipped with a warning that counts them.
TEST_F(DatasetsCpu, ImageFolderLinksAndSkippedTypes) {
    const std::string png = read_all(write_png_fill("l/a/x.png", 8, 8, 3));
    write("l/b/y.png", png);
    fs::create_symlink("../a/x.png", path("l/b/link.png"));
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("l")); },
                            {path("l/b/link.png"), "an image in the class folder", "would count under two labels"}));
    fs::remove(path("l/b/link.png"));
    fs::create_symlink("y.png", path("l/b/same_class.png"));  // a link within its own class is just another file
    EXPECT_EQ(load_image_folder(path("l")).size(), 3);
    write("l/a/scan.bmp", "BM");
    write("l/b/anim.gif", "GIF89a");
    write("l/b/photo.WebP", "RIFF");
    write("l/b/notes.txt", "not an image type");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(load_image_folder(path("l")).size(), 3);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("skipped 1 .bmp, 1 .gif, 1 .webp file(s); lrpcu reads .png .jpg .jpeg"), std::string::npos)
        << err;
    // JPEGs named .jfif (or .jpe, .jif) are skipped too, and said to be JPEGs; images beside the class folders belong
    // to no class: both were dropped without a word.
    write("l/a/photo.jfif", "\xff\xd8\xff");
    write("l/b/photo.JPE", "\xff\xd8\xff");
    write("l/loose.png", png);
    write("l/loose2.gif", "GIF89a");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(load_image_folder(path("l")).size(), 3);
    const std::string err2 = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err2.find("skipped 1 .bmp, 1 .gif, 1 .jfif, 1 .jpe, 1 .webp file(s)"), std::string::npos) << err2;
    EXPECT_NE(err2.find(".jfif, .jpe and .jif files are JPEGs: rename them to .jpg"), std::string::npos) << err2;
    EXPECT_NE(err2.find(path("l") + ": 2 image file(s) lie beside the class folders, in none of them, and are not used"),
              std::string::npos)
        << err2;
    // Said once: a folder without split subfolders is read for both splits, and repeated the same lines.
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(load_image_folder(path("l")).size(), 3);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// A PNG without IEND is truncated (stb_image decodes nothing without it, with an empty reason); data after IEND is
// fine; a file beyond kMaxImageFileBytes is refused before it is read.
TEST_F(DatasetsCpu, ImageFileEndsAndSizes) {
    const std::string png = read_all(write_png_fill("n/a/ok.png", 8, 8, 5));
    const size_t iend = png.find("IEND");
    ASSERT_NE(iend, std::string::npos);
    write("n/a/noiend.png", png.substr(0, iend - 4));  // up to the IEND chunk's length field
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("n")); },
                            {path("n/a/noiend.png"), "truncated PNG (no IEND chunk"}));
    write("n/a/noiend.png", png + std::string(1000, '\0'));  // trailing bytes after IEND: decoded
    EXPECT_EQ(load_image_folder(path("n")).size(), 2);
    {
        std::ofstream big(path("n/a/huge.png"), std::ios::binary);
        big << png;
        big.seekp(std::streamoff(1) << 30);  // a sparse file of 1 GiB + 1 byte: nothing is read
        big.put('\0');
    }
    EXPECT_TRUE(throws_with([&] { load_image_folder(path("n")); },
                            {path("n/a/huge.png"), "bytes, more than lrpcu reads as an image (1073741824)"}));
}
